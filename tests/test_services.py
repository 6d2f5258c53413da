"""Label Studio and the local LLM server, started and stopped by our service manager."""

import httpx
import openai
import pytest

from mercap import services

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_llm_server_serves_smollm2_and_stops_by_pid(settings):
    cfg = settings.services
    service = services.llm_service(cfg)
    try:
        assert services.start(service) == "started"
        assert services.start(service) == "already running"  # idempotent
        client = openai.OpenAI(base_url=f"http://{cfg.host}:{cfg.llm_port}/v1", api_key="local")
        reply = client.chat.completions.create(
            model="smollm2-135m-instruct",
            messages=[{"role": "user", "content": "Name one emotion."}],
            max_tokens=16,
            temperature=0,
        )
        assert reply.choices[0].message.content.strip()
        assert reply.usage.completion_tokens > 0
    finally:
        assert services.stop("llm") == "stopped"
    assert not service.health()
    assert services.stop("llm") == "not running"


def test_label_studio_starts_with_the_preset_admin_token(settings, tmp_path):
    cfg = settings.services
    service = services.label_studio_service(cfg, tmp_path)
    token = services.label_studio_credentials()["LABEL_STUDIO_USER_TOKEN"]
    try:
        services.start(service)
        base = f"http://{cfg.host}:{cfg.label_studio_port}"
        me = httpx.get(
            f"{base}/api/current-user/whoami",
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
        assert me.status_code == 200
        assert me.json()["email"] == services.label_studio_credentials()["LABEL_STUDIO_USERNAME"]
        anonymous = httpx.get(f"{base}/api/projects", timeout=10)
        assert anonymous.status_code == 401
    finally:
        services.stop("label-studio")
    assert not service.health()


def test_a_port_held_by_another_program_is_refused(settings):
    import socket

    cfg = settings.services
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((cfg.host, cfg.llm_port))
        squatter.listen()
        with pytest.raises(services.ServiceError, match="port .* is taken"):
            services.start(services.llm_service(cfg))
