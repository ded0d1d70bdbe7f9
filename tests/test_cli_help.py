"""A CLI that helps: flags shown as flags, an example in every help page, shell completion,
``iadsim init``, progress that converges, summary tables after the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from iadsim.cli import NOT_A_TERMINAL, app, mean_rate_per_min, time_left_s
from iadsim.pipeline.checks import check_scenario
from iadsim.scenario import load_scenario

from .conftest import MINIMAL
from .test_compare import SHORT_FILE

runner = CliRunner()
IADSIM = str(Path(sys.executable).parent / "iadsim")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _commands())
def test_every_help_page_has_an_example_and_flags_without_a_value(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"iadsim {command}" in result.stdout.split("Example:")[1]
    assert "<bool>" not in result.stdout


def test_run_help_shows_no_sim_as_a_flag():
    lines = [ln for ln in invoke("run", "--help").stdout.splitlines() if "--no-sim" in ln]
    assert lines and "<" not in lines[0]


def test_shell_completion_is_offered_and_completes_commands_and_scenarios(tmp_path):
    assert "--install-completion" in invoke("--help").stdout
    # Typer detects the user's shell from the parent process; a test runner is none, so name it
    script = subprocess.run([IADSIM, "--show-completion", "bash"], capture_output=True, text=True,
                            env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
                            check=False)
    assert script.returncode == 0 and "_IADSIM_COMPLETE" in script.stdout, script.stderr
    (tmp_path / "my-scenario.yaml").write_text(MINIMAL)
    env = {**os.environ, "_IADSIM_COMPLETE": "complete_bash"}
    commands = subprocess.run([IADSIM], env={**env, "COMP_WORDS": "iadsim ru", "COMP_CWORD": "1"},
                              capture_output=True, text=True, cwd=tmp_path, check=True)
    assert commands.stdout.split() == ["run"]
    scenarios = subprocess.run([IADSIM], env={**env, "COMP_WORDS": "iadsim run m", "COMP_CWORD": "2"},
                               capture_output=True, text=True, cwd=tmp_path, check=True)
    assert scenarios.stdout.split() == ["mixed-raid", "my-scenario.yaml"]


def test_init_writes_a_starter_scenario_that_runs_and_never_overwrites(tmp_path):
    result = invoke("init", 'Baltic test: "one"', "--out", str(tmp_path))
    assert result.exit_code == 0
    path = Path(result.stdout.strip())
    assert path == tmp_path / "Baltic-test-one.yaml"
    text = path.read_text()
    assert "include: [reference]" in text and "remove:" in text and "assumed:" in text
    scenario = load_scenario(path)
    assert scenario.name == 'Baltic test: "one"'
    assert scenario.units["blr_15_aamr_bn1"].alert_duty is False  # the override took effect
    assert len(scenario.units) > 20  # the reference came in
    assert check_scenario(scenario) == []
    assert invoke("validate", str(path)).exit_code == 0
    again = invoke("init", 'Baltic test: "one"', "--out", str(tmp_path))
    assert again.exit_code == 2 and "exists" in again.stderr
    assert path.read_text() == text


def test_init_refuses_a_name_without_letters(tmp_path):
    result = invoke("init", "///", "--out", str(tmp_path))
    assert result.exit_code == 2 and "no file name" in result.stderr


def test_time_left_converges_on_the_mean_time_per_item():
    # ten items of 60 s each: after k items, k*60 s have passed and (10-k)*60 s are left
    assert time_left_s(0, 10, 5.0) is None
    for k in range(1, 11):
        assert time_left_s(k, 10, k * 60.0) == pytest.approx((10 - k) * 60.0)
    assert mean_rate_per_min(2, 120.0) == pytest.approx(1.0)
    assert mean_rate_per_min(0, 120.0) is None
    assert time_left_s(3, None, 10.0) is None


def test_progress_says_once_when_stderr_is_not_a_terminal(write, tmp_path):
    result = invoke("compare", str(write(SHORT_FILE)), "--replications", "2", "--jobs", "1",
                    "--arrangements", "national,joint", "--out", str(tmp_path / "cmp"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(NOT_A_TERMINAL) == 1
    # stdout is the path alone; the summary table follows it on stderr
    assert result.stdout.strip().endswith("report.html")
    assert "Mean over 2 replications" in result.stderr and "national" in result.stderr
    assert "time to first track" in result.stderr


def test_run_prints_a_summary_table_after_the_path(write, tmp_path):
    result = invoke("run", str(write(MINIMAL)), "--no-coverage", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert Path(result.stdout.strip()).name == "report.html"
    assert "Air objects by class" in result.stderr
    assert result.stderr.index(NOT_A_TERMINAL) < result.stderr.index("Air objects by class")
