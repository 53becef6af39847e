"""The peer benchmark's pure parts: what it records about the machine and the sessions, and its table."""

from __future__ import annotations

import time

import pytest

from fasttts_desktop.bench import cpu, machine, onnx_child, peer

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
cpu MHz\t\t: 2596.148
siblings\t: 4
cpu cores\t: 2
flags\t\t: fpu avx2 fma hypervisor avx512f avx512_vnni avx512_bf16

processor\t: 1
model name\t: AMD EPYC
flags\t\t: fpu avx2 fma hypervisor avx512f avx512_vnni avx512_bf16
"""


def test_cpuinfo_gives_topology_and_the_kernel_flags():
    info = machine.parse_cpuinfo(CPUINFO)
    assert info["model_name"] == "AMD EPYC" and info["family_model"] == "25/17"
    assert info["logical"] == 2 and info["threads_per_core"] == 2 and info["hypervisor"]
    assert info["flags"] == ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"]  # no fpu, no amx
    assert info["mhz"] == pytest.approx(2596.148)


def test_proc_stat_and_pid_stat_parse():
    busy, idle, steal = machine.parse_stat_cpu("cpu  100 5 20 1000 7 1 2 30 0 0\ncpu0 1 2 3\n")
    assert (busy, idle, steal) == (100 + 5 + 20 + 1 + 2, 1000 + 7, 30)
    # a command name with spaces and a parenthesis must not shift the fields
    stat = "4242 (python (x) y) S 1 2 3 4 5 6 7 8 9 10 111 222 0 0 20 0 3"
    assert machine.parse_pid_cpu(stat) == 111 + 222


def test_usage_meter_counts_this_process():
    with machine.UsageMeter([]) as meter:
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
    usage = meter.usage.as_dict()
    assert usage["ours_cores"] > 0 and usage["busy_cores"] > 0
    assert set(usage) >= {"loadavg_before", "loadavg_after", "others_cores", "steal_cores"}
    assert "other processes" in meter.usage.line()


def test_ours_settings_record_torch_threads():
    import torch

    s = machine.ours_settings()
    assert s["intra_op_threads"] == torch.get_num_threads()
    assert any("OpenMP" in line or "parallel backend" in line for line in s["parallel_info"])
    assert "OMP_WAIT_POLICY" in s["env"]


def test_round_order_alternates():
    assert peer.round_order(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert peer.round_order(["a", "b", "c"], 1) == ["c", "b", "a"]
    assert peer.round_order(["a", "b", "c"], 2) == ["a", "b", "c"]


def test_summary_puts_audio_beside_compute():
    sr = peer.SAMPLE_RATE
    calls = {
        # sentence 1: 3 s of audio, sentence 2: 1 s; three rounds each
        "ours": [
            [peer.Call(1.0, 2.0, 3 * sr), peer.Call(1.2, 2.0, 3 * sr), peer.Call(5.0, 2.0, 3 * sr)],
            [peer.Call(0.4, 0.8, sr), peer.Call(0.5, 0.8, sr), peer.Call(0.6, 0.8, sr)],
        ],
        # same compute, but trimmed audio: per audio second it looks slower, per sentence it is not
        "trimmed": [
            [peer.Call(1.2, 1.2, 2 * sr)] * 3,
            [peer.Call(0.5, 0.5, sr // 2)] * 3,
        ],
    }
    s = peer.summarize(calls)
    ours, trimmed = s["ours"], s["trimmed"]
    assert ours["total_s"] == pytest.approx(1.2 + 0.5)  # medians of rounds: the 5.0 outlier is gone
    assert ours["audio_total_s"] == pytest.approx(4.0) and trimmed["audio_total_s"] == pytest.approx(2.5)
    assert trimmed["total_s"] == pytest.approx(ours["total_s"])
    assert trimmed["over_baseline"] == pytest.approx(1.0) and "over_baseline" not in ours
    assert trimmed["per_audio_s"] > ours["per_audio_s"]
    assert ours["cpu_per_wall"] == pytest.approx((3 * 2.0 + 3 * 0.8) / (1.0 + 1.2 + 5.0 + 0.4 + 0.5 + 0.6))
    assert ours["per_sentence"][0] == {"s": 1.2, "audio_s": 3.0}
    lines = peer.table(s, {"ours": "ours (2 thr)", "trimmed": "peer create()"})
    assert "2 sentences x 3 rounds" in lines[0] and "alternated" in lines[0]
    assert "audio s/sent" in lines[1] and "s/sentence p50" in lines[1]
    row = next(line for line in lines if line.startswith("peer create()"))
    # p50, p95 of the per-sentence medians, median audio per sentence, s per audio s, CPU/wall, CPU s, x ours
    assert row.split()[-7:] == ["0.850", "1.200", "1.25", "0.680", "1.00", "0.850", "1.00"]
    assert ours["cpu_p50_s"] == pytest.approx((2.0 + 0.8) / 2)


def test_onnx_sessions_and_labels():
    sessions = cpu.onnx_sessions(["spin", "nospin", "default"], 2)
    assert [(s["name"], s["threads"], s["spinning"]) for s in sessions] == [
        ("spin", 2, True),
        ("nospin", 2, False),
        ("default", None, None),
    ]
    with pytest.raises(ValueError, match="unknown onnxruntime session 'fast'"):
        cpu.onnx_sessions(["fast"], 2)
    back = {"intra_op_num_threads": 2, "allow_spinning": "0"}
    assert cpu.peer_label("create", sessions[1], back) == "kokoro-onnx create(), 2 thr, no spinning"
    default = {"intra_op_num_threads": 0, "allow_spinning": "unset (default: spinning on)"}
    label = cpu.peer_label("raw", sessions[2], default)
    assert label == "kokoro-onnx raw run, its own session (ORT's threads)"


def test_onnx_child_reads_the_session_options_back(tmp_path):
    """The settings recorded for the peer are read from a real onnxruntime session, not echoed."""
    onnx = pytest.importorskip("onnx")
    rt = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    for threads, spinning, spin_back in ((2, False, "0"), (1, True, "1")):
        opts = onnx_child.options(rt, threads, spinning)
        session = rt.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        back = onnx_child.read_back(session)
        assert back["intra_op_num_threads"] == threads and back["inter_op_num_threads"] == 1
        assert back["allow_spinning"] == spin_back
        assert back["providers"] == ["CPUExecutionProvider"] and "SEQUENTIAL" in back["execution_mode"]
    plain = onnx_child.read_back(rt.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    assert plain["intra_op_num_threads"] == 0 and plain["allow_spinning"].startswith("unset")
    assert set(onnx_child.cpu_flags()) <= set(onnx_child.CPU_FLAGS)
