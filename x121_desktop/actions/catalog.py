"""The studio's actions, declared once. Ids are stable: keymaps, menus, the palette and later issues
(review suite, node editor, status bar) refer to them by id. Default keys here are hints that
`keymaps/default.json` mirrors (tests/architecture/test_keymap_ids.py checks they agree).
"""

from __future__ import annotations

from x121_desktop.actions.registry import Action, ActionRegistry

APP, VIEW, PLAYBACK, REVIEW = "Application", "View", "Playback", "Review"
TAKE, SEGMENT, SCENE, JOB, EDIT, GRAPH = "Take", "Segment", "Scene", "Job", "Edit", "Graph"


def _a(
    action_id: str,
    title: str,
    category: str,
    *keys: str,
    scope: str = "app",
    when: str = "always",
    description: str = "",
    checkable: bool = False,
) -> Action:
    return Action(action_id, title, category, scope, when, tuple(keys), description, checkable)


def _timeline(
    action_id: str,
    title: str,
    category: str,
    *keys: str,
    when: str = "has_media",
    description: str = "",
    checkable: bool = False,
) -> Action:
    return _a(
        action_id, title, category, *keys, scope="timeline", when=when, description=description, checkable=checkable
    )


def _graph(action_id: str, title: str, *keys: str, when: str = "has_graph") -> Action:
    return _a(action_id, title, GRAPH, *keys, scope="graph", when=when)


STUDIO_ACTIONS: tuple[Action, ...] = (
    # ------------------------------------------------------------ application
    _a("app.command_palette", "Command palette…", APP, "Ctrl+K", description="search actions, characters, scenes"),
    _a("app.quit", "Quit X121 Studio", APP, "Ctrl+Q"),
    _a("app.preferences", "Preferences…", APP, "Ctrl+,"),
    _a("app.keyboard_shortcuts", "Keyboard shortcuts…", APP, "Ctrl+Alt+K", description="keymap preset overrides"),
    _a("app.project.open", "Open project…", APP, "Ctrl+O"),
    _a("app.sign_out", "Sign out", APP, "Ctrl+Shift+L", description="switch user: sign in as another studio login"),
    _a("app.about", "About X121 Studio", APP),
    # ------------------------------------------------------------ view
    _a("view.focus_mode", "Focus mode", VIEW, "`", description="hide everything but the active view", checkable=True),
    _a("view.fullscreen", "Full screen", VIEW, "F11", checkable=True),
    _a("view.theme.next", "Next theme", VIEW, description="cycle obsidian / neon, dark / light"),
    _a("view.theme.choose", "Choose theme…", VIEW),
    _a("view.keymap.choose", "Choose keymap preset…", VIEW, description="default premiere resolve avid"),
    _a("view.panel.library", "Show library", VIEW, "Ctrl+1"),
    _a("view.panel.segments", "Show segments", VIEW, "Ctrl+2"),
    _a("view.panel.jobs", "Show job queue", VIEW, "Ctrl+3"),
    _a("view.panel.servers", "Show servers", VIEW, "Ctrl+4"),
    _a("view.panel.inspector", "Show inspector", VIEW, "Ctrl+5"),
    _a("view.panel.log", "Show log", VIEW, "Ctrl+6"),
    _a("view.panel.review", "Show review", VIEW, "Ctrl+7"),
    _a("view.layout.reset", "Reset panel layout", VIEW),
    # ------------------------------------------------------------ playback (player, timeline, review views)
    _timeline("playback.play_pause", "Play / pause", PLAYBACK, "Space"),
    _timeline("playback.shuttle_reverse", "Shuttle reverse", PLAYBACK, "J", description="press again to go faster"),
    _timeline("playback.stop", "Stop (shuttle pause)", PLAYBACK, "K"),
    _timeline("playback.shuttle_forward", "Shuttle forward", PLAYBACK, "L", description="press again to go faster"),
    _timeline("playback.step_back", "Step back one frame", PLAYBACK, "Left"),
    _timeline("playback.step_forward", "Step forward one frame", PLAYBACK, "Right"),
    _timeline("playback.step_back_10", "Step back 10 frames", PLAYBACK, "Shift+Left"),
    _timeline("playback.step_forward_10", "Step forward 10 frames", PLAYBACK, "Shift+Right"),
    _timeline("playback.step_back_5", "Step back 5 frames", PLAYBACK),
    _timeline("playback.step_forward_5", "Step forward 5 frames", PLAYBACK),
    _timeline("playback.step_back_second", "Step back one second", PLAYBACK),
    _timeline("playback.step_forward_second", "Step forward one second", PLAYBACK),
    _timeline("playback.go_to_start", "Go to start", PLAYBACK, "Home"),
    _timeline("playback.go_to_end", "Go to end", PLAYBACK, "End"),
    _timeline("playback.prev_seam", "Previous seam (edit point)", PLAYBACK, "Up", when="has_seams"),
    _timeline("playback.next_seam", "Next seam (edit point)", PLAYBACK, "Down", when="has_seams"),
    _timeline("playback.mark_in", "Mark in", PLAYBACK, "I"),
    _timeline("playback.mark_out", "Mark out", PLAYBACK, "O"),
    _timeline("playback.go_to_in", "Go to in point", PLAYBACK, "Shift+I"),
    _timeline("playback.go_to_out", "Go to out point", PLAYBACK, "Shift+O"),
    _timeline("playback.clear_in", "Clear in point", PLAYBACK, "Ctrl+Shift+I"),
    _timeline("playback.clear_out", "Clear out point", PLAYBACK, "Ctrl+Shift+O"),
    _timeline("playback.clear_in_out", "Clear in and out", PLAYBACK, "Ctrl+Shift+X"),
    _timeline("playback.play_around", "Play around current frame", PLAYBACK, "Shift+K"),
    _timeline("playback.play_in_to_out", "Play in to out", PLAYBACK, "Ctrl+Shift+Space"),
    _timeline("playback.loop", "Loop playback", PLAYBACK, "Ctrl+L", checkable=True),
    _timeline("timeline.zoom_in", "Zoom in", PLAYBACK, "="),
    _timeline("timeline.zoom_out", "Zoom out", PLAYBACK, "-"),
    _timeline("timeline.zoom_fit", "Zoom to fit", PLAYBACK, "Shift+Z"),
    # ------------------------------------------------------------ review
    _timeline("review.verdict.approve", "Verdict: approve", REVIEW, "1", when="has_segment_selection"),
    _timeline("review.verdict.reject", "Verdict: reject", REVIEW, "2", when="has_segment_selection"),
    _timeline("review.verdict.flag", "Verdict: flag for discussion", REVIEW, "3", when="has_segment_selection"),
    _timeline("review.next_pending", "Next pending seam", REVIEW, "N", when="has_seams"),
    _timeline("review.prev_pending", "Previous pending seam", REVIEW, "Shift+N", when="has_seams"),
    _timeline("review.add_marker", "Add marker", REVIEW, "M"),
    _timeline("review.next_marker", "Next marker", REVIEW, "Shift+M"),
    _timeline("review.prev_marker", "Previous marker", REVIEW, "Ctrl+Shift+M"),
    _timeline("review.add_note", "Add note at this frame", REVIEW, "Alt+N"),
    _timeline("review.loop_seam", "Loop around seam", REVIEW, "Alt+L", when="has_seams", checkable=True),
    _timeline("review.compare.ab", "Compare A/B", REVIEW, checkable=True),
    _timeline("review.compare.wipe", "Compare: wipe", REVIEW, checkable=True),
    _timeline("review.compare.difference", "Compare: difference", REVIEW, checkable=True),
    _timeline("review.grid", "Synced 2x2 grid", REVIEW, checkable=True),
    _timeline("review.roi.zoom_in", "Zoom window: in 2x", REVIEW, "Alt+=", description="every cell, looping in/out"),
    _timeline("review.roi.zoom_out", "Zoom window: out 2x", REVIEW, "Alt+-"),
    _timeline("review.roi.pan_left", "Zoom window: pan left", REVIEW, "Alt+Left"),
    _timeline("review.roi.pan_right", "Zoom window: pan right", REVIEW, "Alt+Right"),
    _timeline("review.roi.pan_up", "Zoom window: pan up", REVIEW, "Alt+Up"),
    _timeline("review.roi.pan_down", "Zoom window: pan down", REVIEW, "Alt+Down"),
    _timeline("review.roi.reset", "Zoom window: reset", REVIEW, "Alt+0", description="show whole frames again"),
    _timeline("review.onion_skin", "Onion skin across the seam", REVIEW, checkable=True),
    _timeline(
        "review.heal_ab",
        "Before / after heal",
        REVIEW,
        "H",
        when="has_seams",
        description="on a healed seam: the take before the heal, then the healed take, on the same frame",
    ),
    _timeline("review.cinema_mode", "Cinema mode", REVIEW, "Ctrl+F", checkable=True),
    _timeline(
        "review.vinyl_mode",
        "Vinyl mode (hear audio while scrubbing)",
        REVIEW,
        "Shift+S",
        description="sound on timeline scrubs, jog wheel turns and frame steps",
        checkable=True,
    ),
    _timeline("review.audio.mute", "Mute playback sound", REVIEW, "Alt+M", checkable=True),
    _timeline("review.audio.volume_up", "Playback volume up", REVIEW, "Ctrl+Up", description="10 % a press"),
    _timeline("review.audio.volume_down", "Playback volume down", REVIEW, "Ctrl+Down", description="10 % a press"),
    _timeline(
        "review.audio.next_cell",
        "Hear the next cell",
        REVIEW,
        "Alt+A",
        description="move the sound (♪ on the cell's label) to the next cell of the grid",
    ),
    # ------------------------------------------------------------ takes, segments, scenes, jobs
    _a("take.approve", "Approve take (final)", TAKE, "Ctrl+Shift+Return", when="has_take_selection"),
    _a("take.use", "Use this take for the segment", TAKE, when="has_take_selection"),
    _a("take.compare_previous", "Compare with previous take", TAKE, when="has_take_selection"),
    _a("segment.regenerate", "Regenerate segment", SEGMENT, "Ctrl+Shift+R", when="has_segment_selection"),
    _a("segment.heal", "Heal seam", SEGMENT, "Ctrl+Shift+H", when="has_segment_selection"),
    _a("segment.analyze", "Analyze seams", SEGMENT, "Ctrl+Shift+C", when="has_segment_selection"),
    _a(
        "segment.lock",
        "Lock segment for editing",
        SEGMENT,
        "Ctrl+Shift+K",
        when="has_segment_selection",
        checkable=True,
    ),
    _a("segment.open_workflow", "Open segment workflow in node editor", SEGMENT, when="has_segment_selection"),
    _a("scene.generate", "Generate scene", SCENE, "Ctrl+Return", when="has_scene_selection"),
    _a(
        "scene.cancel_generation",
        "Cancel scene generation",
        SCENE,
        "Ctrl+Alt+.",
        when="has_scene_selection",
        description="cancel your queued and running jobs of the scene and stop its chain",
    ),
    _a("scene.assemble", "Assemble approved segments", SCENE, "Ctrl+Shift+E", when="has_scene_selection"),
    _a("scene.export", "Export scene…", SCENE, "Ctrl+E", when="has_scene_selection"),
    _a(
        "character.new",
        "New character…",
        SCENE,
        description="from a Seed A portrait and/or a Seed B; forward and reverse mode generate the other",
    ),
    _a("scene.new", "New scene…", SCENE, "Ctrl+N", when="has_project"),
    _a("job.cancel", "Cancel job", JOB, "Ctrl+.", when="has_job_selection"),
    _a("job.retry", "Retry job", JOB, when="has_job_selection"),
    _a("job.move_to_front", "Move job to front of queue", JOB, when="has_job_selection"),
    _a("job.hold", "Put job on hold", JOB, "Ctrl+H", when="has_job_selection", description="suspend: never claimed"),
    _a("job.release", "Release job from hold", JOB, "Ctrl+Alt+H", when="has_job_selection"),
    _a(
        "job.pause_queue",
        "Pause my queue",
        JOB,
        checkable=True,
        description="hold my queued jobs and the ones I submit until I resume",
    ),
    _a(
        "job.pause_studio",
        "Pause the studio queue",
        JOB,
        checkable=True,
        description="admins: no job starts on any server until it is resumed",
    ),
    # ------------------------------------------------------------ edit
    _a("edit.undo", "Undo", EDIT, "Ctrl+Z", when="can_undo"),
    _a("edit.redo", "Redo", EDIT, "Ctrl+Shift+Z", when="can_redo"),
    _a("edit.copy", "Copy", EDIT, "Ctrl+C", when="has_selection"),
    _a("edit.paste", "Paste", EDIT, "Ctrl+V"),
    _a("edit.delete", "Delete", EDIT, "Del", when="has_selection"),
    _a("edit.rename", "Rename", EDIT, "F2", when="has_selection"),
    _a("edit.select_all", "Select all", EDIT, "Ctrl+A"),
    _a("edit.deselect_all", "Deselect all", EDIT, "Ctrl+Shift+A", when="has_selection"),
    # ------------------------------------------------------------ node editor
    _graph("graph.add_node", "Add node…", "Tab"),
    _graph("graph.fit", "Fit graph in view", "F"),
    _graph("graph.group", "Group selected nodes", "Ctrl+G", when="has_graph_selection"),
    _graph("graph.ungroup", "Ungroup", "Ctrl+Shift+G", when="has_graph_selection"),
    _graph("graph.bypass", "Bypass selected nodes", "Ctrl+B", when="has_graph_selection"),
    _graph("graph.mute", "Mute selected nodes", "Ctrl+M", when="has_graph_selection"),
    _graph("graph.duplicate", "Duplicate selected nodes", "Ctrl+D", when="has_graph_selection"),
    _graph("graph.validate", "Validate workflow against servers"),
    _graph("graph.auto_layout", "Tidy layout"),
)


def build_registry() -> ActionRegistry:
    """A fresh registry holding the studio's actions (one per window; no app singleton)."""
    return ActionRegistry(STUDIO_ACTIONS)
