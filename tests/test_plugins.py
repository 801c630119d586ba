from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.conftest import bundled_plugin_names
from tests.plugin_packages import ROOT, fake_distribution, run_cli
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.settings import Settings

BROKEN_ON_IMPORT = "raise RuntimeError('cannot import me')\n"
BROKEN_ON_REGISTER = """
from zentropy.hookspecs import hookimpl

@hookimpl
def register_jobs(register):
    raise ValueError('registration exploded')
"""
UNKNOWN_HOOK = """
from zentropy.hookspecs import hookimpl

@hookimpl(specname=None)
def register_widgets(register):
    register('widget')
"""


@pytest.fixture(scope="module")
def example_install(tmp_path_factory):
    """The example plugin package installed (with pip, from its own pyproject) into a folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT / "examples" / "zentropy-hello")],
        check=True, capture_output=True, timeout=300,
    )
    return target


def plugins_json(*path, env=None):
    result = run_cli("plugins", "--json", path=list(path), env=env)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_bundled_plugins_load_through_entry_points():
    rows = plugins_json()
    assert "core" in rows and rows["core"]["distribution"] == "zentropy"
    for name in bundled_plugin_names():
        assert rows[name]["error"] is None, rows[name]
        assert rows[name]["distribution"] == "zentropy"


def test_example_package_loads_through_its_entry_point(example_install):
    row = plugins_json(example_install)["hello"]
    assert row["distribution"] == "zentropy-hello" and row["version"] == "0.1.0"
    assert row["kinds"] == ["jobs", "source"]
    assert row["configured"] is False and row["error"] is None  # HELLO_FEED_URL is not set
    configured = plugins_json(example_install, env={"HELLO_FEED_URL": "http://127.0.0.1:9/jobs.json"})["hello"]
    assert configured["configured"] is True


@pytest.fixture
def hello_feed():
    """A loopback server for the example plugin's JSON feed."""
    import http.server
    import threading

    feed = json.dumps({"jobs": [
        {"id": "1", "title": "Python Developer", "company": "Hello Corp", "url": "https://hello.example/1",
         "description": "<p>Write <b>Python</b> &amp; SQL</p>", "published": "2026-11-20T09:00:00Z", "remote": True},
        {"id": "2", "title": "Chef", "company": "Hello Bistro", "url": "https://hello.example/2",
         "description": "Cook", "published": "2026-11-21T09:00:00Z"},
        {"title": "no id: skipped and counted"},
    ]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(feed)))
            self.end_headers()
            self.wfile.write(feed)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jobs.json"
    server.shutdown()


@pytest.mark.slow
def test_example_source_runs_through_the_core(example_install, hello_feed, migrated):
    env = {"HELLO_FEED_URL": hello_feed, "ZENTROPY_PLUGINS": "hello", "DATABASE_URL": migrated.database_url,
           "DATABASE_APP_USER": migrated.database_app_user, "DATABASE_APP_PASSWORD": migrated.database_app_password,
           "REDIS_URL": migrated.redis_url, "ZENTROPY_SOURCES_KEY_PREFIX": f"hello-{uuid.uuid4().hex[:8]}"}
    result = run_cli("sources", "try", "hello", "python", "--json", path=[example_install], env=env)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert [p["title"] for p in page["postings"]] == ["Python Developer"]
    assert page["postings"][0]["description_text"] == "Write Python & SQL"
    assert page["skipped"] == 1 and page["attribution"] == "Jobs from the hello feed"


def test_failing_plugins_are_listed_with_their_error_and_do_not_stop_others(tmp_path, example_install):
    fake_distribution(tmp_path, "zentropy-broken", "2.0", "broken", "broken_plugin", BROKEN_ON_IMPORT)
    fake_distribution(tmp_path, "zentropy-badreg", "1.1", "badreg", "badreg_plugin", BROKEN_ON_REGISTER)
    rows = plugins_json(tmp_path, example_install)
    assert rows["broken"]["error"] == "RuntimeError: cannot import me"
    assert rows["broken"]["distribution"] == "zentropy-broken" and rows["broken"]["version"] == "2.0"
    assert rows["badreg"]["error"] == "ValueError: registration exploded"
    assert rows["hello"]["error"] is None  # the others still load
    table = run_cli("plugins", path=[tmp_path])
    assert table.returncode == 0 and "cannot import me" in table.stdout


def test_hook_matching_no_spec_is_reported(tmp_path):
    fake_distribution(tmp_path, "zentropy-odd", "0.1", "odd", "odd_plugin", UNKNOWN_HOOK)
    row = plugins_json(tmp_path)["odd"]
    assert row["warnings"] == ["hook 'register_widgets' matches no hook specification"]


def test_allowlist_and_disable(example_install):
    only_hello = plugins_json(example_install, env={"ZENTROPY_PLUGINS": "hello"})
    assert set(only_hello) == {"core", "hello"}
    without_hello = plugins_json(example_install, env={"ZENTROPY_DISABLE_PLUGINS": "hello"})
    assert "hello" not in without_hello and set(bundled_plugin_names()) <= set(without_hello)


def test_unconfigured_plugin_is_shown_as_such():
    class Needs(__import__("msgspec").Struct):
        api_key: str

    class Plugin:
        @hookimpl
        def register_settings(self, register):
            register(Needs)

    plugins = Plugins(Settings(plugins="none")).load()
    plugins.register(Plugin(), name="needy")
    row = {r.name: r for r in plugins.info()}["needy"]
    assert row.configured is False


def test_a_plugin_whose_hook_raises_contributes_nothing_and_is_marked_failed():
    class Good:
        @hookimpl
        def register_jobs(self, register):
            register("good-job")

    class Bad:
        @hookimpl
        def register_jobs(self, register):
            register("half-registered")
            raise KeyError("boom")

    plugins = Plugins(Settings(plugins="none")).load()
    plugins.register(Good(), name="good")
    plugins.register(Bad(), name="bad")
    mine = [(name, obj) for name, obj in plugins.objects("register_jobs") if name in ("good", "bad")]
    assert mine == [("good", "good-job")]
    rows = {r.name: r for r in plugins.info()}
    assert rows["bad"].error == "KeyError: 'boom'"


async def test_api_lists_plugins(client):
    response = await client.get("/api/v1/plugins")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert set(bundled_plugin_names()) | {"core"} == set(rows)
