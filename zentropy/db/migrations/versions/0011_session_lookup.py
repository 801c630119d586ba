"""sessions: one look-up per request (session, renewal, onboarding), absolute lifetime; a search
recorded (with its quota count) in one call.

`zentropy_auth_session(token_hash, ttl, max_age)` replaces the two-argument function of 0003. It
answers in one call what every signed-in request needs: the live session (its user not disabled,
idle expiry not passed, and — new — younger than `max_age`, the absolute lifetime; NULL: none),
renewed at most once a minute (sliding, never past `created_at + max_age`), and whether the user
completed onboarding. The onboarding question is asked under the user's own row security (the
function sets the tenant for that one query and puts back what was set), so the migration role
gains no access to `user_preferences`.

`zentropy_search_record(...)` records a search the way `POST /api/v1/searches` always did — the
daily quota counted (the statement of `zentropy.quotas.service.TAKE_SQL`) and the row inserted,
atomically, the commit not waiting for the disk — in one round trip instead of four (BEGIN, the
tenant setting, the statement, COMMIT). It runs with the caller's rights (SECURITY INVOKER): it
sets the tenant to the given user for its own statements, under the same row-level security as
the service, and puts back what was set. NULL: the quota is used up, nothing was recorded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NEW = "zentropy_auth_session(text, interval, interval)"
OLD = "zentropy_auth_session(text, interval)"

SESSION = """
CREATE FUNCTION zentropy_auth_session(p_token_hash text, p_ttl interval, p_max_age interval)
RETURNS TABLE (session_id uuid, user_id uuid, expires_at timestamptz, renewed boolean, onboarded boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    live sessions%ROWTYPE;
    was_renewed boolean := false;
    tenant text;
    done boolean;
BEGIN
    SELECT s.* INTO live FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now() AND u.disabled_at IS NULL
      AND (p_max_age IS NULL OR s.created_at > now() - p_max_age);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF live.last_seen_at < now() - interval '1 minute' THEN
        UPDATE sessions s SET last_seen_at = now(),
               expires_at = GREATEST(s.expires_at, LEAST(now() + p_ttl, s.created_at + p_max_age))
        WHERE s.id = live.id RETURNING s.expires_at INTO live.expires_at;
        was_renewed := true;
    END IF;
    tenant := current_setting('zentropy.user_id', true);
    PERFORM set_config('zentropy.user_id', live.user_id::text, true);
    done := EXISTS (SELECT 1 FROM user_preferences p WHERE p.user_id = live.user_id AND p.completed_at IS NOT NULL);
    PERFORM set_config('zentropy.user_id', coalesce(tenant, ''), true);
    RETURN QUERY SELECT live.id, live.user_id, LEAST(live.expires_at, live.created_at + p_max_age), was_renewed, done;
END
$$
"""

OLD_SESSION = """
CREATE FUNCTION zentropy_auth_session(p_token_hash text, p_ttl interval)
RETURNS TABLE (session_id uuid, user_id uuid, expires_at timestamptz, renewed boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    live sessions%ROWTYPE;
BEGIN
    SELECT s.* INTO live FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now() AND u.disabled_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF live.last_seen_at < now() - interval '1 minute' THEN
        UPDATE sessions s SET last_seen_at = now(), expires_at = GREATEST(s.expires_at, now() + p_ttl)
        WHERE s.id = live.id RETURNING s.expires_at INTO live.expires_at;
        RETURN QUERY SELECT live.id, live.user_id, live.expires_at, true;
    ELSE
        RETURN QUERY SELECT live.id, live.user_id, live.expires_at, false;
    END IF;
END
$$
"""


RECORD = "zentropy_search_record(uuid, uuid, uuid, text, jsonb, text, integer, boolean, text, boolean, jsonb, " \
         "bigint[], text[], timestamptz, date, integer)"
RECORD_SQL = """
CREATE FUNCTION zentropy_search_record(
    p_user_id uuid, p_id uuid, p_saved_search_id uuid, p_origin text, p_query jsonb, p_fingerprint text,
    p_want integer, p_premium boolean, p_status text, p_cached boolean, p_report jsonb, p_result_ids bigint[],
    p_result_sources text[], p_finished_at timestamptz, p_quota_period date, p_quota_default integer)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public
AS $$
DECLARE
    tenant text := current_setting('zentropy.user_id', true);
    recorded uuid;
BEGIN
    PERFORM set_config('zentropy.user_id', p_user_id::text, true);
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_quota_period IS NOT NULL THEN
        INSERT INTO quota_usage AS u (user_id, kind, period_start, used)
        SELECT p_user_id, 'searches', p_quota_period, 1
        WHERE COALESCE((SELECT q.searches_per_day FROM user_quotas q WHERE q.user_id = p_user_id),
                       p_quota_default) > 0
        ON CONFLICT (user_id, kind, period_start) DO UPDATE SET used = u.used + 1
        WHERE u.used < COALESCE((SELECT q.searches_per_day FROM user_quotas q WHERE q.user_id = p_user_id),
                                p_quota_default);
        IF NOT FOUND THEN
            PERFORM set_config('zentropy.user_id', coalesce(tenant, ''), true);
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO searches (id, user_id, saved_search_id, origin, query, fingerprint, want, premium, status, cached,
                          report, result_ids, result_sources, finished_at, heartbeat_at)
    VALUES (p_id, p_user_id, p_saved_search_id, p_origin, p_query, p_fingerprint, p_want, p_premium, p_status,
            p_cached, p_report, p_result_ids, p_result_sources, p_finished_at, now())
    RETURNING id INTO recorded;
    PERFORM set_config('zentropy.user_id', coalesce(tenant, ''), true);
    RETURN recorded;
END
$$
"""


def upgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {OLD}")
    op.execute(SESSION)
    # Executable by PUBLIC by default; only the service role (granted after each upgrade) may call it.
    op.execute(f"REVOKE ALL ON FUNCTION {NEW} FROM PUBLIC")
    op.execute(RECORD_SQL)
    op.execute(f"REVOKE ALL ON FUNCTION {RECORD} FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {RECORD}")
    op.execute(f"DROP FUNCTION IF EXISTS {NEW}")
    op.execute(OLD_SESSION)
    op.execute(f"REVOKE ALL ON FUNCTION {OLD} FROM PUBLIC")
