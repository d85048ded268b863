"""pytest fixtures; the harness itself is in harness.py."""

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tessera"

if not (PACKAGE / "tessera_ffi.py").exists():
    pytest.exit("bindings not generated: run bindings/generate.sh first", returncode=2)

from harness import Issuer, RecordingLogger  # noqa: E402  (needs the generated package)


@pytest.fixture(scope="session")
def issuer(tmp_path_factory):
    """One reference issuer for the whole session (tests use distinct events and emails)."""
    i = Issuer(tmp_path_factory.mktemp("issuer"))
    yield i
    i.stop()


@pytest.fixture
def logger():
    return RecordingLogger()
