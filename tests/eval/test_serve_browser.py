"""The page itself, driven in headless Chromium as a person would: draw a stroke and read it, ask for drawings.

Needs Debian's chromium and chromium-driver (.ci/run installs them where apt-get is usable) and selenium
(requirements.txt); skipped with its reason where one is missing.
"""
import shutil

import pytest

CHROMIUM, DRIVER = shutil.which('chromium'), shutil.which('chromedriver')
webdriver = pytest.importorskip('selenium.webdriver',
                                reason='selenium is not installed (pip install -r requirements.txt)')
if not (CHROMIUM and DRIVER):
    pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope='module')
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1100,900'):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


def test_draw_a_stroke_read_it_and_ask_for_drawings(served, browser):
    wait = WebDriverWait(browser, 30)
    browser.get(served + '/')
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#label option')) == 10)  # /api/info answered
    pad = browser.find_element(By.ID, 'pad')
    # a one: a vertical stroke down the middle of the pad, with the mouse held down
    ActionChains(browser).move_to_element_with_offset(pad, 0, -100).click_and_hold() \
        .move_by_offset(0, 100).move_by_offset(0, 100).release().perform()
    browser.find_element(By.ID, 'read').click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#bars .bar')) == 10)
    assert browser.find_element(By.ID, 'answer').text in '0123456789'
    widths = [float(b.get_attribute('style').split(':')[1].strip(' %;'))
              for b in browser.find_elements(By.CSS_SELECTOR, '#bars .fill')]
    assert abs(sum(widths) - 100) < 1 and browser.find_element(By.ID, 'status').text == ''
    assert not browser.find_element(By.ID, 'ask-box').is_displayed()  # this run learnt no captions or questions

    browser.find_element(By.ID, 'tab-draw').click()
    browser.find_element(By.ID, 'draw').click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#grid .cell')) == 18)
    assert all(c.text.startswith('judge: ') for c in browser.find_elements(By.CSS_SELECTOR, '#grid .cell'))

    browser.find_element(By.ID, 'tab-run').click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#headline tr')) > 0)
    assert browser.find_element(By.ID, 'status').text == ''
