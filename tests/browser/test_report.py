"""The CAO's office reads the annual report in the browser: charts with text alternatives and data
tables, and the page passes the axe scan."""
from __future__ import annotations


from tests.reports.scenario import build




def test_the_cao_reads_the_annual_report_with_its_charts(page, make_user, sign_in, axe_check):
    scenario = build(make_user)
    sign_in(page, scenario.people["cara"])
    axe_check(page)  # the dashboard, with the report panel
    page.get_by_role("link", name="Annual report").first.click()
    page.get_by_label("Year").select_option("2025")
    page.get_by_role("button", name="Show the year").click()
    page.wait_for_url("**/reports/annual?year=2025")
    assert page.get_by_role("heading", level=1).inner_text() == "International activities: annual report to Council, 2025"
    for alt in ("Trips completed per month", "Relief granted by country", "Time taken by each workflow step",
                "Requests submitted per goal"):
        image = page.get_by_role("img", name=f"Bar chart: {alt}", exact=False)
        assert image.is_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.get_by_role("table", name="Data of the chart: Relief granted by country (dollars)").is_visible()
    assert page.get_by_role("row", name="Turkey 45,000.00").first.is_visible()
    axe_check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "accord-annual-report-2025.csv"


def test_on_a_phone_the_pages_of_tables_fit_the_screen_and_their_tables_scroll(page, make_user, sign_in, axe_check):
    # WCAG 1.4.10: at 320 CSS pixels nothing but a table (or a chart's data) scrolls sideways.
    scenario = build(make_user)
    page.set_viewport_size({"width": 320, "height": 700})
    sign_in(page, scenario.people["cara"])
    for path in ("/", "/cases", "/reports/annual?year=2025", "/partnerships", "/criteria"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
        wide = page.locator(".table-scroll").evaluate_all(
            "boxes => boxes.filter(b => b.scrollWidth > b.clientWidth).map(b => b.getAttribute('aria-label'))")
        if path == "/reports/annual?year=2025":
            assert "Travel by department (on time, late, overdue: post-trip reports)" in wide
        axe_check(page)  # (a box that scrolls can be reached with the keyboard, and has a name)
    page.goto("/reports/annual?year=2025")
    table = page.get_by_role("region", name="Travel by department (on time, late, overdue: post-trip reports)")
    table.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    # Chromium animates a keyboard scroll: wait for it (up to the page's timeout) rather than read
    # scrollLeft the instant after the key, which a busy machine saw still at 0.
    page.wait_for_function("box => box.scrollLeft > 0", arg=table.element_handle())
