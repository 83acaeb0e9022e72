import pickle

import pytest

from okc_recon.config import PROD_BASE_URL, Secret, Settings
from okc_recon.errors import ConfigError


def test_defaults_point_at_production_without_credentials():
    s = Settings.from_env({}, env_file=None)
    assert s.base_url == PROD_BASE_URL
    assert not s.has_credentials


def test_environment_wins_over_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "OKC_BASE_URL=https://na1-stage.okcapsule.app/\nOKC_ACCESS_TOKEN=from-file\nOKC_PAGE_SIZE=50\n"
    )
    s = Settings.from_env({"OKC_ACCESS_TOKEN": "from-env"}, env_file=env_file)
    assert s.base_url == "https://na1-stage.okcapsule.app"
    assert s.access_token == Secret("from-env")
    assert s.page_size == 50


def test_secrets_never_show():
    s = Settings.from_env(
        {"OKC_USERNAME": "ana", "OKC_PASSWORD": "hunter2", "OKC_ACCESS_TOKEN": "tok-123"},
        env_file=None,
    )
    for text in (repr(s), str(s), repr(s.password), f"{s.access_token}"):
        assert "hunter2" not in text
        assert "tok-123" not in text
    assert s.password is not None
    assert s.password.reveal() == "hunter2"
    with pytest.raises(TypeError):
        pickle.dumps(s.access_token)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"OKC_BASE_URL": "ftp://x"}, "OKC_BASE_URL"),
        ({"OKC_USERNAME": "ana"}, "OKC_PASSWORD"),
        ({"OKC_PAGE_SIZE": "500"}, "250"),
        ({"OKC_CONCURRENCY": "many"}, "OKC_CONCURRENCY"),
        ({"OKC_WEIGHT_UNIT": "stone"}, "OKC_WEIGHT_UNIT"),
    ],
)
def test_bad_settings_say_which(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Settings.from_env(env, env_file=None)
