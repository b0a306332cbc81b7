"""End to end in a real browser: JupyterLab from the course environment runs lesson 1 through its UI.

The test starts `jupyter lab` on a copy of lesson 1 (outputs cleared, so everything it checks comes
from this run), opens it in headless Chromium driven by Selenium, clicks Run › Run All Cells, waits
until every code cell has an execution count, and checks that no cell raised, that the coloured
trained-token view and the TemplateExplorer widget rendered (and that the widget talks to the
kernel), then saves a screenshot to tests/screenshots/01_chat_templates.png.

It needs Debian's chromium and chromium-driver (`bash scripts/install_browser.sh`). Without them it
is skipped locally, but fails when CI=true, so CI really runs it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "01_chat_templates.ipynb"
SCREENSHOT = ROOT / "tests" / "screenshots" / "01_chat_templates.png"
INSTALL_HINT = "bash scripts/install_browser.sh"

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


# Generous limits: the machines that run this are small and often busy.
SERVER_START_TIMEOUT = 120  # jupyter lab answering
KERNEL_READY_TIMEOUT = 120  # notebook open and its kernel idle
RUN_ALL_TIMEOUT = 240  # Run All Cells, every cell finished
WIDGET_TIMEOUT = 30  # the widget answering a change

# TokenView's colours (helpers/templates.py), as the browser reports computed colours.
TRAINED_RGB = "rgb(183, 228, 199)"  # #b7e4c7
CONTEXT_RGB = "rgb(233, 236, 239)"  # #e9ecef

# Settings for this throw-away JupyterLab: every cell attached to the page (so every output can be
# inspected), and no news or update pop-ups over the screenshot.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _missing(reason: str, fix: str = f"install them with `{INSTALL_HINT}`") -> None:
    """Skip with how to fix it, except on CI, where the browser test must really run."""
    message = f"{reason}; {fix}"
    if _in_ci():
        pytest.fail(f"CI=true, so the browser test may not be skipped: {message}", pytrace=False)
    pytest.skip(message)


def _browser_paths() -> tuple[str, str]:
    """Chromium and chromedriver from Debian's packages; skips (fails on CI) when either, or Selenium, is missing."""
    chromium = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium")
    chromedriver = str(CHROMEDRIVER) if CHROMEDRIVER.is_file() else shutil.which("chromedriver")
    if not chromium or not chromedriver:
        _missing(f"Chromium ({CHROMIUM}) or chromedriver ({CHROMEDRIVER}) is not installed")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("Selenium is not installed in this environment", "requirements.txt pins it: run `make setup`")
    return chromium, chromedriver


def _jupyter_command() -> list[str]:
    """JupyterLab from the course environment: .venv's, or else the environment running the tests."""
    venv_jupyter = ROOT / ".venv" / "bin" / "jupyter"
    if venv_jupyter.is_file():
        return [str(venv_jupyter), "lab"]
    return [sys.executable, "-m", "jupyterlab"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(cannot read {path}: {error})"


def _copy_lesson_without_outputs(target: Path) -> None:
    """Copy lesson 1 with its stored outputs and widget state removed; only this run can fill them in."""
    notebook = nbformat.read(LESSON, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, target)


@dataclass
class LabServer:
    url: str  # ends with "/"
    token: str
    notebook: str  # path relative to the server's root
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log, lines)


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server (it shuts its kernels down), then kill whatever of it is left."""
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        family = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for child in family:  # kernels run in their own sessions, so kill them by pid
        try:
            child.kill()
        except psutil.Error:
            pass


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    return _browser_paths()


@pytest.fixture(scope="module")
def lab_server(browser_paths, tmp_path_factory) -> LabServer:
    tmp = tmp_path_factory.mktemp("browser")
    root, runtime, workspaces, settings = (tmp / name for name in ("root", "runtime", "workspaces", "settings"))
    for folder in (root, runtime, workspaces, settings):
        folder.mkdir()
    # Lesson 1 reads nothing beside itself (helpers is installed in the environment), so the
    # server's root holds only this copy; JupyterLab's autosave never touches the committed file.
    _copy_lesson_without_outputs(root / LESSON.name)
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))

    token = secrets.token_hex(16)
    # The offline settings come from os.environ: conftest.py sets them for every test, as `make test` does.
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    command = _jupyter_command() + [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={_free_port()}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        # window.jupyterapp lets the test read the notebook's model (outputs, kernel state).
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp / "jupyter-lab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        url = _wait_for_server(process, runtime, token, log)
        yield LabServer(url=url, token=token, notebook=LESSON.name, log=log)
    finally:
        _stop(process)


def _wait_for_server(process: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    """Wait until the server has written its runtime file and answers /api/status; return its URL."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with code {process.returncode}:\n{_tail(log)}", pytrace=False)
        if url is None:
            for info_file in runtime.glob("jpserver-*.json"):
                try:
                    url = json.loads(info_file.read_text())["url"]
                except (OSError, ValueError, KeyError):
                    pass  # written but not complete yet
        if url:
            url = url if url.endswith("/") else url + "/"
            request = urllib.request.Request(url + "api/status", headers={"Authorization": f"token {token}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return url
            except OSError:
                pass
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT} s:\n{_tail(log)}", pytrace=False)


@pytest.fixture
def browser(browser_paths, tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = browser_paths
    # Both paths are given, so Selenium Manager has nothing to look up; offline mode makes sure it
    # never tries to download a browser or a driver.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    service = Service(executable_path=chromedriver, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


# JavaScript run in the page. The notebook panel is found through window.jupyterapp (exposed by
# --LabApp.expose_app_in_browser); prompts and outputs are read from what the page shows.
FIND_PANEL_JS = """
const app = window.jupyterapp;
if (!app) return null;
const panels = Array.from(app.shell.widgets('main')).filter(
  w => w.context && w.context.path && w.context.path.endsWith(arguments[0]) && w.content && w.sessionContext);
return panels.length ? panels[0] : null;
"""

STATE_JS = (
    "const panel = (function() {"
    + FIND_PANEL_JS
    + """}).apply(null, arguments);
const dialog = document.querySelector('.jp-Dialog');
if (!panel) return {ready: false, app: !!window.jupyterapp, dialog: dialog ? dialog.innerText : null};
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
const cells = panel.content.widgets.filter(cell => cell.model.type === 'code');
return {
  ready: true,
  app: true,
  dialog: dialog ? dialog.innerText : null,
  sessionReady: panel.sessionContext.isReady,
  kernel: kernel ? kernel.status : null,
  prompts: cells.map(cell => {
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    return prompt ? prompt.textContent.trim() : '';
  }),
};
"""
)

CELLS_JS = (
    "const panel = (function() {"
    + FIND_PANEL_JS
    + """}).apply(null, arguments);
return panel.content.widgets.filter(cell => cell.model.type === 'code').map(cell => ({
  source: cell.model.sharedModel.getSource(),
  count: cell.model.executionCount,
  prompt: (cell.node.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim(),
  errors: cell.model.outputs.toJSON().filter(output => output.output_type === 'error')
    .map(output => output.ename + ': ' + output.evalue),
  tracebacks: Array.from(cell.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
    .map(node => node.textContent).filter(text => text.includes('Traceback (most recent call last)')),
}));
"""
)

# Visible coloured token spans: inside the widget (in_widget=true) or in a plain cell output.
TOKEN_VIEW_JS = """
const [inWidget, trainedRgb, contextRgb] = arguments;
const visible = node => {
  const rect = node.getBoundingClientRect();
  const style = getComputedStyle(node);
  return rect.width > 0 && rect.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
};
const result = [];
for (const output of document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')) {
  if (!!output.querySelector('.jupyter-widgets') !== inWidget) continue;
  if (!output.textContent.includes('tokens trained')) continue;
  let trained = 0, context = 0;
  for (const span of output.querySelectorAll('span')) {
    if (!visible(span)) continue;
    const background = getComputedStyle(span).backgroundColor;
    if (background === trainedRgb) trained += 1;
    if (background === contextRgb) context += 1;
  }
  result.push({trained, context, legend: /\\d+ of \\d+ tokens trained/.test(output.textContent)});
}
return result;
"""

EXPLORER_JS = """
const visible = node => { const r = node.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const boxes = document.querySelectorAll('.jp-Notebook .jp-OutputArea-output .jupyter-widgets.widget-vbox');
const explorers = Array.from(boxes).filter(box => box.querySelector('.widget-dropdown select') && box.querySelector('textarea'));
if (!explorers.length) return null;
const box = explorers[0];
const select = box.querySelector('.widget-dropdown select');
return {
  visible: visible(box),
  widgets: box.querySelectorAll('.jupyter-widgets').length,
  // ipywidgets writes the labels with non-breaking spaces
  options: Array.from(select.options).map(option => option.text.replace(/\u00a0/g, ' ')),
  text: Array.from(box.querySelectorAll('pre')).map(pre => pre.textContent).join('\\n'),
  snapshot: document.querySelector('.jp-Notebook').textContent.includes('Static snapshot'),
};
"""


def _wait(description: str, timeout: float, probe, interval: float = 0.5):
    """Call probe() until it returns something truthy; fail with the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            message = f"timed out after {timeout:.0f} s waiting for {description}; last state: {last!r}"
            pytest.fail(message, pytrace=False)
        time.sleep(interval)


@pytest.mark.slow
def test_lesson_1_runs_in_jupyterlab(lab_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    name = lab_server.notebook
    timings: dict[str, float] = {}
    start = time.monotonic()

    def state():
        return browser.execute_script(STATE_JS, name)

    try:
        browser.get(f"{lab_server.url}lab/tree/{name}?token={lab_server.token}")

        # 1. The notebook is open and its kernel idle.
        def kernel_idle():
            current = state()
            if current.get("dialog"):
                pytest.fail(f"JupyterLab shows a dialog: {current['dialog']!r}", pytrace=False)
            ready = current["ready"] and current["sessionReady"] and current["kernel"] == "idle"
            return current if ready and current["prompts"] else None

        opened = _wait("the notebook to open with an idle kernel", KERNEL_READY_TIMEOUT, kernel_idle)
        n_code = len(opened["prompts"])
        assert n_code > 10, f"lesson 1 should have many code cells, found {n_code}"
        timings["open + kernel idle"] = time.monotonic() - start

        # 2. Run › Run All Cells, through the menu.
        run_menu = "//div[contains(@class,'lm-MenuBar-itemLabel')][normalize-space()='Run']"
        WebDriverWait(browser, 30).until(EC.element_to_be_clickable((By.XPATH, run_menu))).click()
        run_all = "li.lm-Menu-item[data-command='runmenu:run-all']:not(.lm-mod-disabled)"
        WebDriverWait(browser, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, run_all))).click()
        clicked = time.monotonic()

        # 3. Wait until every code cell has its execution count, or the run stopped (an error stops
        # Run All: the cells after it lose their "[*]" and stay without a count).
        numbered = re.compile(r"^\[\d+\]:$")
        quiet_since: list[float] = []

        def finished():
            current = state()
            if current.get("dialog"):
                pytest.fail(f"JupyterLab shows a dialog: {current['dialog']!r}", pytrace=False)
            prompts = current["prompts"]
            if all(numbered.match(prompt) for prompt in prompts) and current["kernel"] == "idle":
                return current
            stopped = current["kernel"] == "idle" and not any("*" in prompt for prompt in prompts)
            if stopped and any(numbered.match(prompt) for prompt in prompts):
                quiet_since.append(time.monotonic())  # idle with nothing queued: give it 3 s to be sure
                if quiet_since[-1] - quiet_since[0] > 3:
                    return current
            else:
                quiet_since.clear()
            return None

        _wait("Run All Cells to finish", RUN_ALL_TIMEOUT, finished, interval=1.0)
        timings["run all cells"] = time.monotonic() - clicked

        # 4. No cell raised, and every code cell ran once, in order.
        cells = browser.execute_script(CELLS_JS, name)
        failures = [
            f"code cell {index} ({cell['source'].splitlines()[0] if cell['source'] else ''!r}): "
            + "; ".join(cell["errors"] or [text.strip().splitlines()[-1] for text in cell["tracebacks"]])
            for index, cell in enumerate(cells, start=1)
            if cell["errors"] or cell["tracebacks"]
        ]
        assert not failures, "cells raised errors:\n" + "\n".join(failures)
        not_run = [f"code cell {i}: prompt {cell['prompt']!r}" for i, cell in enumerate(cells, 1) if cell["count"] is None]
        assert not not_run, "code cells without an execution count:\n" + "\n".join(not_run)
        assert [cell["count"] for cell in cells] == list(range(1, len(cells) + 1))

        # 5. The coloured trained-token view (the `view` cell's HTML output).
        views = browser.execute_script(TOKEN_VIEW_JS, False, TRAINED_RGB, CONTEXT_RGB)
        assert any(v["trained"] > 0 and v["context"] > 0 and v["legend"] for v in views), (
            f"no coloured token view with both trained and context-only tokens rendered: {views}"
        )

        # 6. The TemplateExplorer rendered as a live widget (not the static fallback) ...
        explorer = _wait("the TemplateExplorer widget", WIDGET_TIMEOUT, lambda: browser.execute_script(EXPLORER_JS))
        assert explorer["visible"], "the TemplateExplorer widget is not visible"
        assert not explorer["snapshot"], "the static snapshot was shown: no widget manager in the front-end"
        assert explorer["widgets"] >= 5, explorer
        assert explorer["options"][:2] == ["ChatML (SmolLM2, Qwen)", "Llama 3"], explorer["options"]
        assert "<|im_start|>" in explorer["text"], explorer["text"]
        in_widget = browser.execute_script(TOKEN_VIEW_JS, True, TRAINED_RGB, CONTEXT_RGB)
        assert any(v["trained"] > 0 and v["context"] > 0 for v in in_widget), in_widget

        # ... that talks to the kernel: choosing Llama 3 re-renders the text with its markers.
        dropdown = browser.find_element(
            By.CSS_SELECTOR, ".jp-Notebook .jp-OutputArea-output .jupyter-widgets.widget-vbox .widget-dropdown select"
        )
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", dropdown)
        Select(dropdown).select_by_index(explorer["options"].index("Llama 3"))
        _wait(
            "the widget to re-render for Llama 3",
            WIDGET_TIMEOUT,
            lambda: "<|start_header_id|>" in (browser.execute_script(EXPLORER_JS) or {}).get("text", ""),
        )

        # 7. The screenshot: the explorer, with its coloured tokens, at the top of the window.
        browser.execute_script(
            "arguments[0].closest('.jp-Cell').scrollIntoView({block: 'start'});", dropdown
        )
        time.sleep(0.5)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT)), f"could not write {SCREENSHOT}"
        SCREENSHOT.with_name(SCREENSHOT.stem + ".failed.png").unlink(missing_ok=True)  # from an earlier failure
        timings["total in browser"] = time.monotonic() - start
        print("browser test timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    except BaseException:
        _report_failure(browser, lab_server)
        raise


def _report_failure(browser, lab_server: LabServer) -> None:
    """Print what helps to debug a failure: the server log, the browser's errors, a screenshot."""
    print(f"--- jupyter lab log (last lines of {lab_server.log}) ---\n{lab_server.log_tail()}")
    try:
        for entry in browser.get_log("browser")[-20:]:
            print(f"browser console: {entry.get('level')} {entry.get('message')}")
    except Exception as error:  # the browser may be gone
        print(f"(no browser log: {error})")
    failed = SCREENSHOT.with_name(SCREENSHOT.stem + ".failed.png")
    try:
        failed.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(failed))
        print(f"screenshot of the failure: {failed}")
    except Exception as error:
        print(f"(no screenshot: {error})")
