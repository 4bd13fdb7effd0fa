"""A long attack can be cancelled from the browser: the Cancel button stops it and the page says so."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_cancel_stops_a_long_attack(page, app_url):
    page.goto(app_url + "/attack")
    page.get_by_role("button", name="Attack", exact=True).wait_for()
    for label, value in (("Most steps", "2000"), ("Learning rate", "0.000001")):  # far from the goal: runs long
        box = page.get_by_role("spinbutton", name=label)  # not the widget's help button, labelled alike
        box.fill(value)
        box.press("Enter")
    page.get_by_role("spinbutton", name="Learning rate").wait_for()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Attack", exact=True).click()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Cancelled: the computation was stopped").wait_for()
    assert page.get_by_text("SNR", exact=True).count() == 0  # no result was shown or kept
