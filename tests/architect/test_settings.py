"""Keys generated once with safe permissions, a wrong key stops start-up, deploy checks clean."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from architect.lib.keyfiles import read_or_create_key

ROOT = Path(settings.BASE_DIR)


def start_manage(*args: str, env: dict) -> subprocess.Popen:
    # Each test gets its own data dir and SQLite file, whatever database the suite itself runs on.
    inherited = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL")
    clean_env = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean_env, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finished(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return finished(start_manage(*args, env=env))


@pytest.fixture(scope="module")
def fresh_data_dir(tmp_path_factory):
    """A data dir that started empty, after `manage.py migrate` (run once: it takes seconds)."""
    path = tmp_path_factory.mktemp("fresh")
    result = manage("migrate", "--noinput", "-v0", env={"ARCHITECT_DATA_DIR": str(path)})
    assert result.returncode == 0, result.stderr
    return path


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "data" / "key"
    first = read_or_create_key(path, lambda: "generated-1")
    second = read_or_create_key(path, lambda: "generated-2")
    assert first == second == "generated-1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_fresh_data_dir_gets_generated_keys(fresh_data_dir):
    for name in ("secret_key", "field_encryption_key"):
        assert stat.S_IMODE((fresh_data_dir / name).stat().st_mode) == 0o600
    Fernet((fresh_data_dir / "field_encryption_key").read_text().strip())  # a valid key


def test_wrong_encryption_key_stops_start_up_with_a_clear_message(fresh_data_dir, tmp_path):
    data_dir = shutil.copytree(fresh_data_dir, tmp_path / "data")
    env = {"ARCHITECT_DATA_DIR": str(data_dir)}
    script = (
        "from django.core.management import call_command; from projects.models import Secret; "
        "Secret.objects.create(name='K', value='plaintext'); call_command('check')"
    )
    stored = manage("shell", "-c", script, env=env)
    assert stored.returncode == 0, stored.stderr  # the right key decrypts it: the check passes

    wrong = {**env, "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    checked, served = [finished(process) for process in
                       (start_manage("check", env=wrong), start_manage("serve", "--port", "0", env=wrong))]  # fmt: skip
    for result in (checked, served):
        assert result.returncode != 0
        assert "FIELD_ENCRYPTION_KEY cannot decrypt" in result.stderr


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    env = {
        "ARCHITECT_DATA_DIR": str(tmp_path),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "architect.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://architect.example.com",
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_bad_boolean_setting_is_refused(tmp_path):
    result = manage("check", env={"ARCHITECT_DATA_DIR": str(tmp_path), "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr
