"""Two people in two browser sessions: each keeps their own unsaved concept, both see the saved library."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _open_concepts(page, app_url):
    page.goto(app_url + "/concepts")
    page.get_by_role("heading", name="Add examples").wait_for()


def test_unsaved_work_is_private_and_the_saved_library_is_shared(browser, app_url):
    alice_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    bob_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
        for p in (alice, bob):
            p.set_default_timeout(60000)
            _open_concepts(p, app_url)

        alice.get_by_text("A built-in concept", exact=True).first.click()
        alice.get_by_role("button", name="Add its").click()
        alice.get_by_role("heading", name="Your concept (").wait_for()

        bob.reload()
        bob.get_by_role("heading", name="Add examples").wait_for()
        bob.get_by_text("No examples yet").wait_for()  # Alice's unsaved examples are hers alone
        assert bob.get_by_role("heading", name="Your concept (").count() == 0

        alice.get_by_label("Name", exact=True).fill("alice texture")
        alice.get_by_label("Name", exact=True).press("Enter")
        alice.get_by_role("button", name="Save to library").click()
        alice.get_by_text("Saved 'alice texture'").wait_for()

        bob.reload()
        bob.get_by_role("heading", name="Library").wait_for()
        # The saved library is shared. Its table is a canvas grid whose text cells are hidden to the
        # accessibility tree, so wait for the cell to exist rather than to be visible.
        bob.locator('[data-testid="stDataFrame"]').get_by_text("alice texture").first.wait_for(state="attached")
        bob.get_by_text("No examples yet").wait_for()
    finally:
        alice_ctx.close()
        bob_ctx.close()
