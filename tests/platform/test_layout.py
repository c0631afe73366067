"""The repository layout works from every entry point (DESIGN.md section 3)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_it_keeps_the_standard_platform_and_uuid_modules_from_the_repository_root():
    result = run_python(
        "import platform, uuid; print(platform.system(), uuid.uuid4().version, platform.__file__)",
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    system, version, module_file = result.stdout.split()
    assert system == "Linux"
    assert version == "4"
    assert not module_file.startswith(str(REPO_ROOT))


def test_platform_folder_is_not_a_package():
    assert (REPO_ROOT / "platform" / "drcrm" / "__init__.py").exists()
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


def test_it_imports_the_project_package_through_the_install_from_anywhere(tmp_path):
    result = run_python("import drcrm.settings as s; print(s.PACKAGE_DIR)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(REPO_ROOT / "platform" / "drcrm")


def test_every_entry_point_loads_the_project(tmp_path):
    code = (
        "from drcrm.wsgi import application as w; from drcrm.asgi import application as a;"
        "from drcrm.celery import app; print(type(w).__name__, type(a).__name__, app.main)"
    )
    result = run_python(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["WSGIHandler", "ASGIHandler", "drcrm"]

    gunicorn = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--check-config", "drcrm.wsgi"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gunicorn.returncode == 0, gunicorn.stderr

    manage = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert manage.returncode == 0, manage.stderr
