"""Themes from data: bundled themes load; a bad file is an error naming file and key; fallback warns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from x121_desktop.core.errors import ConfigError
from x121_desktop.theming import (
    DEFAULT_THEME,
    available_themes,
    bundled_template,
    bundled_themes_dir,
    choose_theme,
    load_theme,
    next_theme_name,
    parse_color,
    render_qss,
    render_template_file,
)
from x121_desktop.theming.loader import display_path
from x121_desktop.theming.model import COLOR_TOKENS, FONT_TOKENS, Rgba

REQUIRED = ("obsidian-dark", "obsidian-light", "neon-dark", "neon-light")


@pytest.fixture
def theme_dir(tmp_path: Path) -> Path:
    """A copy of the bundled themes the test may break."""
    folder = tmp_path / "themes"
    shutil.copytree(bundled_themes_dir(), folder)
    return folder


def _edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_the_four_variants_load_with_every_token() -> None:
    found = available_themes()
    assert set(REQUIRED) <= set(found)
    for name in REQUIRED:
        theme = load_theme(found[name])
        assert theme.name == name
        assert theme.mode == name.split("-")[1]
        assert theme.family == name.split("-")[0]
        assert set(theme.colors) == set(COLOR_TOKENS)
        assert set(theme.fonts) == set(FONT_TOKENS)
        assert theme.font("font.mono").families[-1] == "monospace"
        assert theme.font("font.ui").families[0] == "Inter"
        assert theme.space("space.md") > theme.space("space.xs") > 0
    assert DEFAULT_THEME in found


def test_dark_and_light_differ_where_it_matters() -> None:
    found = available_themes()
    dark, light = load_theme(found["neon-dark"]), load_theme(found["neon-light"])
    assert dark.is_dark
    assert not light.is_dark
    assert dark.color("bg.window") != light.color("bg.window")


def test_missing_token_names_file_and_key(theme_dir: Path) -> None:
    path = theme_dir / "neon-dark.json"
    _edit(path, lambda d: d["colors"].pop("canvas.grid"))
    with pytest.raises(ConfigError) as err:
        load_theme(path)
    assert "neon-dark.json: missing token 'canvas.grid'" in err.value.sentence


def test_bundled_files_are_named_relative_to_the_install() -> None:
    assert display_path(bundled_themes_dir() / "neon-dark.json") == "themes/neon-dark.json"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["colors"].__setitem__("canvas.grid", "grey"), "token 'canvas.grid' must be a colour"),
        (lambda d: d["colors"].__setitem__("canvas.gird", "#000"), "unknown token 'canvas.gird'"),
        (lambda d: d["spacing"].__setitem__("space.md", -3), "token 'space.md' must be a whole number"),
        (lambda d: d["radii"].__setitem__("radius.md", "4px"), "token 'radius.md' must be a whole number"),
        (lambda d: d["fonts"]["font.mono"].__setitem__("families", []), "token 'font.mono' needs 'families'"),
        (lambda d: d["fonts"]["font.ui"].__setitem__("weight", 450), "token 'font.ui' needs 'weight'"),
        (lambda d: d.__setitem__("version", 2), "key 'version' is 2"),
        (lambda d: d.__setitem__("name", "neon"), "key 'name' is 'neon' but the file is named 'neon-dark.json'"),
        (lambda d: d.__setitem__("mode", "dim"), "key 'mode' must be one of dark, light"),
        (lambda d: d.pop("fonts"), "key 'fonts' must be an object"),
    ],
)
def test_malformed_tokens_are_named(theme_dir: Path, change: Any, expected: str) -> None:
    path = theme_dir / "neon-dark.json"
    _edit(path, change)
    with pytest.raises(ConfigError) as err:
        load_theme(path)
    assert "neon-dark.json: " + expected in err.value.sentence


def test_invalid_json_gives_line_and_column(theme_dir: Path) -> None:
    path = theme_dir / "obsidian-light.json"
    path.write_text('{\n  "schema": "x121.theme",\n  "version": 1,,\n}', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_theme(path)
    assert "obsidian-light.json: is not valid JSON" in err.value.sentence
    assert "line 3" in err.value.sentence


def test_corrupt_theme_falls_back_to_default_with_a_warning_naming_the_file(theme_dir: Path) -> None:
    _edit(theme_dir / "neon-dark.json", lambda d: d["colors"].pop("canvas.grid"))
    choice = choose_theme("neon-dark", [theme_dir])
    assert choice.theme.name == DEFAULT_THEME
    assert choice.warning is not None
    assert "neon-dark.json: missing token 'canvas.grid'" in choice.warning
    assert "obsidian-dark" in choice.warning


def test_good_theme_has_no_warning_and_unknown_name_falls_back(theme_dir: Path) -> None:
    assert choose_theme("neon-light", [theme_dir]).warning is None
    choice = choose_theme("solarized", [theme_dir])
    assert choice.theme.name == DEFAULT_THEME
    assert choice.warning is not None
    assert "'solarized' was not found" in choice.warning


def test_user_folder_overrides_bundled_theme(theme_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "user-themes"
    user.mkdir()
    shutil.copy(theme_dir / "neon-dark.json", user / "neon-dark.json")
    _edit(user / "neon-dark.json", lambda d: d["colors"].__setitem__("canvas.grid", "#123456"))
    choice = choose_theme("neon-dark", [theme_dir, user])
    assert choice.theme.color("canvas.grid") == Rgba(0x12, 0x34, 0x56)


def test_missing_default_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="default theme 'obsidian-dark' is missing"):
        choose_theme("neon-dark", [tmp_path])


def test_colour_parsing() -> None:
    assert parse_color("#abc") == Rgba(0xAA, 0xBB, 0xCC)
    assert parse_color("#2a2d33") == Rgba(0x2A, 0x2D, 0x33, 255)
    assert parse_color("#00000080") == Rgba(0, 0, 0, 0x80)
    assert parse_color("2a2d33") is None
    assert parse_color(42) is None
    assert Rgba(1, 2, 3, 4).css() == "rgba(1, 2, 3, 4)"
    assert Rgba(1, 2, 3).css() == "#010203"


def test_every_theme_renders_the_bundled_stylesheet() -> None:
    for name, path in available_themes().items():
        theme = load_theme(path)
        qss = render_template_file(bundled_template(), theme)
        assert "{{" not in qss, name
        assert "}}" not in qss, name
        assert theme.color("accent.primary").hex_rgb in qss
        assert '"Inter"' in qss
        assert '"JetBrains Mono"' in qss
        assert f"{theme.radius('radius.md')}px" in qss


def test_qss_substitution_rules() -> None:
    theme = load_theme(available_themes()["obsidian-dark"])
    out = render_qss(
        "a { color: {{fg.primary}}; padding: {{ space.md }}; border-radius: {{radius.lg}}; "
        "font-family: {{font.mono.family}}; font-size: {{font.mono.size}}; font-weight: {{font.heading.weight}};"
        " background: {{accent.muted}}; }",
        theme,
    )
    assert f"color: {theme.color('fg.primary').hex_rgb};" in out
    assert f"padding: {theme.space('space.md')}px;" in out
    assert f"border-radius: {theme.radius('radius.lg')}px;" in out
    assert 'font-family: "JetBrains Mono"' in out
    assert out.count("monospace") == 1
    assert f"font-weight: {theme.font('font.heading').weight};" in out
    assert "background: rgba(" in out


def test_unknown_placeholder_names_template_line_and_token() -> None:
    theme = load_theme(available_themes()["obsidian-dark"])
    with pytest.raises(ConfigError) as err:
        render_qss("a {}\nb { color: {{fg.primray}}; }", theme, "resources/qss/x.qss.tmpl")
    assert "resources/qss/x.qss.tmpl: line 2 uses unknown token 'fg.primray'" in err.value.sentence


def test_next_theme_cycles_in_name_order() -> None:
    names = list(REQUIRED)
    assert next_theme_name("neon-dark", names) == "neon-light"
    assert next_theme_name("obsidian-light", names) == "neon-dark"
    assert next_theme_name("gone", names) == "neon-dark"
    assert next_theme_name("x", []) == "x"
