"""Average recording rules give no sample, never NaN, over a window without observations."""

import subprocess
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).resolve().parents[2] / "alerts" / "generated" / "llmpulse-rules.yaml"


@pytest.mark.slow
def test_eval_score_average_is_absent_not_nan_when_nothing_was_scored(tmp_path):
    labels = 'job="llm", service_name="chat", gen_ai_request_model="m", gen_ai_evaluation_name="relevance"'
    test = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f"llm_eval_score_sum{{{labels}}}", "values": "0+0x120"},
                {"series": f"llm_eval_score_count{{{labels}}}", "values": "0+0x60 0+1x60"},
            ],
            "promql_expr_test": [
                # nothing scored in the last hour: no sample (it used to be NaN = 0/0)
                {"expr": "service_model:llm_eval_score:avg_rate1h", "eval_time": "59m", "exp_samples": []},
                # scores of 0 arrive: the average is a real 0
                {"expr": "service_model:llm_eval_score:avg_rate1h", "eval_time": "120m",
                 "exp_samples": [{"labels": f"service_model:llm_eval_score:avg_rate1h{{{labels}}}", "value": 0}]},
            ],
        }],
    }
    f = tmp_path / "nan_test.yaml"
    f.write_text(yaml.safe_dump(test))
    proc = subprocess.run(["promtool", "test", "rules", str(f)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
