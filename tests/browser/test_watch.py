"""The browser tests' own eyes: what a page does wrong reaches `console_errors`."""


def test_a_content_security_policy_violation_is_reported(page, console_errors):
    page.goto("/accounts/login/")
    assert console_errors == []

    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'window.ran = true'; document.head.append(s); }""")

    assert page.evaluate("window.ran") is None  # the policy allows no inline script
    [error] = console_errors
    assert "Content Security Policy" in error and "/accounts/login/" in error
