"""Helpers of the browser tests."""
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SLUG, HOST = "e2e", "e2e.localhost"
PASSWORD = "pw-e2e-reviewer-1"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, server: str, next_path: str = "/") -> None:
    page.goto(f"{server}{next_path}")
    page.get_by_label("Email").fill("reviewer@e2e.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}{next_path}")
