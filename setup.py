"""Packages only (metadata is in pyproject.toml): the bundled plugins live in plugins/ but import
as `zentropy_plugins`, never under a generic name such as `plugins`."""

from setuptools import find_packages, setup

setup(
    package_dir={"zentropy": "zentropy", "zentropy_plugins": "plugins"},
    packages=find_packages(include=["zentropy", "zentropy.*"])
    + ["zentropy_plugins"]
    + [f"zentropy_plugins.{name}" for name in find_packages("plugins")],
)
