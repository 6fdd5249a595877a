def test_login_page_renders(anon_client, db):
    response = anon_client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
