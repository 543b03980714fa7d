"""Server choice: capability check, availability, model affinity, speed; refusal sentences."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.orchestration.placement import (
    JobNeeds,
    ModelRef,
    Placement,
    PlacementOutcome,
    Refusal,
    ServerSnapshot,
    choose_server,
    explain_refusal,
    rank_servers,
)

WAN = ModelRef("diffusion_models", "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors")
LORA = ModelRef("loras", "x.safetensors")
NEEDS = JobNeeds(frozenset({"KSamplerAdvanced", "VHS_VideoCombine"}), frozenset({WAN, LORA}))


def server(server_id: int, name: str, **changes: Any) -> ServerSnapshot:
    base = ServerSnapshot(
        server_id=server_id,
        name=name,
        status=ServerStatus.ONLINE,
        free_slots=1,
        node_types=frozenset({"KSamplerAdvanced", "VHS_VideoCombine", "SaveVideo"}),
        models=frozenset({WAN, LORA}),
        loaded_models=frozenset(),
        speed=1.0,
        enabled=True,
    )
    return replace(base, **changes)


def test_capable_free_server_is_chosen() -> None:
    placement = choose_server(NEEDS, [server(1, "gpu-a")])
    assert placement == Placement(1, (), "gpu-a", PlacementOutcome.PLACED)
    assert placement.placed
    assert explain_refusal(placement) == ""


def test_missing_node_type_and_model_are_refused_with_reasons() -> None:
    lacking = server(1, "gpu-a", node_types=frozenset({"KSamplerAdvanced"}), models=frozenset({WAN}))
    placement = choose_server(NEEDS, [lacking])
    assert placement.server_id is None
    assert placement.outcome is PlacementOutcome.IMPOSSIBLE
    assert placement.refusals == (
        Refusal(
            "gpu-a",
            (
                "has no node type VHS_VideoCombine (install the custom node pack)",
                "has no model loras/x.safetensors (copy it into ComfyUI/models/loras)",
            ),
            capable=False,
        ),
    )
    sentence = explain_refusal(placement)
    assert sentence.startswith("No server can run this job (gpu-a has no node type VHS_VideoCombine")
    assert "refused before using any GPU time" in sentence
    assert sentence.count(".") == sentence.count(".safetensors") + 1  # one sentence


def test_capable_but_busy_servers_mean_wait() -> None:
    servers = [
        server(1, "gpu-a", free_slots=0, status=ServerStatus.BUSY),
        server(2, "gpu-b", status=ServerStatus.OFFLINE),
        server(3, "gpu-c", status=ServerStatus.DRAINING),
        server(4, "gpu-d", node_types=frozenset()),
    ]
    placement = choose_server(NEEDS, servers)
    assert placement.outcome is PlacementOutcome.WAIT
    assert [r.reasons[0] for r in placement.refusals] == [
        "has no free slot",
        "is offline",
        "is draining",
        "has no node type KSamplerAdvanced (install the custom node pack)",
    ]
    assert explain_refusal(placement).startswith("Every server that can run this job is unavailable right now")
    assert "waits in the queue" in explain_refusal(placement)


def test_unavailable_and_incapable_reasons_are_both_listed() -> None:
    placement = choose_server(NEEDS, [server(7, "old", status=ServerStatus.ERRORED, models=frozenset())])
    assert placement.refusals[0].reasons[0] == "is in an error state (see its log)"
    assert len(placement.refusals[0].reasons) == 3
    assert placement.outcome is PlacementOutcome.IMPOSSIBLE


def test_only_a_disabled_capable_server_is_impossible_not_wait() -> None:
    placement = choose_server(NEEDS, [server(1, "gpu-a", enabled=False)])
    assert placement.outcome is PlacementOutcome.IMPOSSIBLE
    assert placement.refusals[0].reasons == ("is disabled",)
    assert "or enable one" in explain_refusal(placement)


def test_no_servers_at_all() -> None:
    placement = choose_server(NEEDS, [])
    assert placement.outcome is PlacementOutcome.IMPOSSIBLE
    assert explain_refusal(placement).startswith("No ComfyUI server is registered")


def test_busy_with_a_free_slot_is_a_candidate() -> None:
    placement = choose_server(NEEDS, [server(1, "gpu-a", status=ServerStatus.BUSY, free_slots=1)])
    assert placement.server_id == 1


def test_model_affinity_beats_speed() -> None:
    fast = server(1, "fast", speed=3.0)
    warm = server(2, "warm", speed=1.0, loaded_models=frozenset({WAN}))
    assert choose_server(NEEDS, [fast, warm]).server_id == 2
    warmer = server(3, "warmer", speed=0.5, loaded_models=frozenset({WAN, LORA}))
    assert choose_server(NEEDS, [fast, warm, warmer]).server_id == 3


def test_then_speed_then_free_slots_then_id() -> None:
    assert choose_server(NEEDS, [server(1, "a", speed=1.0), server(2, "b", speed=2.0)]).server_id == 2
    assert choose_server(NEEDS, [server(1, "a", free_slots=1), server(2, "b", free_slots=2)]).server_id == 2
    assert choose_server(NEEDS, [server(5, "a"), server(2, "b")]).server_id == 2


def test_chosen_server_is_not_refused_and_losers_are_not_refused() -> None:
    placement = choose_server(NEEDS, [server(1, "a"), server(2, "b", speed=2.0), server(3, "c", free_slots=0)])
    assert placement.server_id == 2
    assert [r.server_name for r in placement.refusals] == ["c"]


def test_rank_servers_matches_choice() -> None:
    servers = [server(1, "a"), server(2, "b", speed=2.0), server(3, "c", loaded_models=frozenset({LORA}))]
    ranked = rank_servers(NEEDS, servers)
    assert [s.server_id for s in ranked] == [3, 2, 1]
    assert choose_server(NEEDS, servers).server_id == ranked[0].server_id


def test_custom_loader_folder_hint() -> None:
    custom = ModelRef("WanVideoModelLoader.model", "wan.safetensors")
    placement = choose_server(JobNeeds(frozenset(), frozenset({custom})), [server(1, "a")])
    assert placement.refusals[0].reasons == (
        "has no model WanVideoModelLoader.model/wan.safetensors "
        "(copy it where the server's WanVideoModelLoader node reads its models)",
    )


def test_a_job_needing_nothing_runs_anywhere_available() -> None:
    nothing = JobNeeds(frozenset(), frozenset())
    assert choose_server(nothing, [server(1, "a", node_types=frozenset(), models=frozenset())]).server_id == 1
