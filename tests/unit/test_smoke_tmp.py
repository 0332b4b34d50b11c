from tests.conftest import AuthActions, bearer


def test_login_and_api(client, world, auth):
    a = world.account("staff")
    r = auth.login(a.email)
    assert r.status_code == 302, r.text
    assert client.get("/review/").status_code == 200
    r = client.get("/api/v1/me", headers=bearer(a.token))
    assert r.json["role"] == "staff"
