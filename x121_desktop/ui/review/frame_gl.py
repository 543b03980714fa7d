"""The GPU path: a QOpenGLWidget that uploads Y/U/V planes as three textures and converts them
to RGB in a fragment shader with the frame's own matrix and range (`YuvFrame.rgb_affine`).

Vertices go through a QOpenGLBuffer + QOpenGLVertexArrayObject with `setAttributeBuffer`
(a client-side `glVertexAttribPointer` crashed under Xvfb + Mesa: PLATFORM.md). The overlay
(frame number, error tile) is drawn with QPainter on top of the GL picture. A region of interest
is a texture-coordinate window: the quad samples only the pixels of `crop_box(roi)`.

Contexts: a QOpenGLTexture keeps a plain pointer to the context it was made in, and the Python
wrapper frees it whenever Python drops it, which is after the canvas's context has gone (a reload
deletes the cells later; a window change gives the canvas a new context). Used or freed then while
another context was current (an "Open clips…" dialog's, or the canvas's own new one), it crashed the
app (a segmentation fault in QOpenGLContext::areSharing). So each context's textures
live in a `_ContextTextures` that frees them in that context as it goes (`aboutToBeDestroyed`),
whoever deletes the canvas; a new context (the panel floated or docked again) gets new textures
and the last frame uploaded again.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QRect
from PySide6.QtGui import QMatrix3x3, QOffscreenSurface, QOpenGLContext, QPainter
from PySide6.QtOpenGL import (
    QOpenGLBuffer,
    QOpenGLShader,
    QOpenGLShaderProgram,
    QOpenGLTexture,
    QOpenGLVertexArrayObject,
)
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QWidget
from shiboken6 import VoidPtr, getCppPointer, wrapInstance

from x121_desktop.core.media import YuvFrame
from x121_desktop.services.review_media import DecodedFrame
from x121_desktop.ui.review.colors import color
from x121_desktop.ui.review.frame_view import CellState, centred, fit_size, paint_band, paint_overlay
from x121_desktop.ui.review.roi_math import crop_box

_VERTEX = """
attribute vec2 pos;
attribute vec2 uv;
varying vec2 v_uv;
void main() { v_uv = uv; gl_Position = vec4(pos, 0.0, 1.0); }
"""
_FRAGMENT = """
uniform sampler2D tex_y;
uniform sampler2D tex_u;
uniform sampler2D tex_v;
uniform mat3 yuv_to_rgb;
uniform vec3 offset;
varying vec2 v_uv;
void main() {
    vec3 yuv = vec3(texture2D(tex_y, v_uv).r, texture2D(tex_u, v_uv).r, texture2D(tex_v, v_uv).r);
    gl_FragColor = vec4(clamp(yuv_to_rgb * yuv + offset, 0.0, 1.0), 1.0);
}
"""
GL_COLOR_BUFFER_BIT = 0x4000
GL_TRIANGLE_STRIP = 0x0005
GL_FLOAT = 0x1406
GL_UNPACK_ALIGNMENT = 0x0CF5
GL_TEXTURE0 = 0x84C0


class _ContextTextures:
    """The textures made in one context, freed in it when it goes (a plain object: the slot must not
    need the canvas, which may be half destroyed by then)."""

    def __init__(self, context: QOpenGLContext) -> None:
        self.address = int(getCppPointer(context)[0])
        self.textures: list[QOpenGLTexture] = []
        context.aboutToBeDestroyed.connect(lambda: self.free())  # noqa: PLW0108  # held by the context, not weakly

    def free(self) -> None:
        """Destroy the textures with their context current (on an offscreen surface of its own: the
        canvas's surface may be gone), then put back the context that was current. The context is
        reached by its address: PySide has let go of its wrapper with the canvas's by then. Textures
        that could not be destroyed are still dropped here, while their context lives."""
        textures, self.textures = self.textures, []
        if not textures:
            return
        context = cast("QOpenGLContext", wrapInstance(self.address, QOpenGLContext))
        previous = QOpenGLContext.currentContext()
        previous_surface = previous.surface() if previous is not None else None
        surface = QOffscreenSurface()
        surface.setFormat(context.format())
        surface.create()
        if context.makeCurrent(surface):
            for t in textures:
                t.destroy()
            context.doneCurrent()
        textures.clear()
        if previous is not None and previous_surface is not None and getCppPointer(previous)[0] != self.address:
            previous.makeCurrent(previous_surface)
        surface.destroy()


class GLFrameCanvas(QOpenGLWidget):
    """Draws `YuvFrame` planes (rgb24 frames too, as a fallback: uploaded as one RGB texture)."""

    uses_gpu = True

    def __init__(self, state: CellState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._pending: YuvFrame | None = None
        self._shown: YuvFrame | None = None
        """The frame last uploaded: uploaded again into a new context."""
        self._program: QOpenGLShaderProgram | None = None
        self._vbo = QOpenGLBuffer(QOpenGLBuffer.Type.VertexBuffer)
        self._vao = QOpenGLVertexArrayObject()
        self._gl: _ContextTextures | None = None
        self._tex_sizes: list[tuple[int, int]] = []
        self._frame_size: tuple[int, int] | None = None
        self._affine = np.eye(3, 4, dtype=np.float32)
        self.uploads = 0
        self.paints = 0

    def set_frame(self, frame: DecodedFrame) -> None:
        if frame.yuv is not None:
            self._pending = frame.yuv
            self.update()

    # ------------------------------------------------------------------ GL
    @property
    def _textures(self) -> list[QOpenGLTexture]:
        return [] if self._gl is None else self._gl.textures

    def initializeGL(self) -> None:
        """Called for each new context (the first, and after a window change): a shader, buffers and
        texture set of its own, and the last frame uploaded again."""
        self._gl = _ContextTextures(self.context())
        self._tex_sizes = []
        if self._pending is None:
            self._pending = self._shown
        if self._program is not None:
            self._program.deleteLater()  # the old context's; freed with it
        self._vbo = QOpenGLBuffer(QOpenGLBuffer.Type.VertexBuffer)
        self._vao = QOpenGLVertexArrayObject()
        program = QOpenGLShaderProgram(self)
        program.addShaderFromSourceCode(QOpenGLShader.ShaderTypeBit.Vertex, _VERTEX)
        program.addShaderFromSourceCode(QOpenGLShader.ShaderTypeBit.Fragment, _FRAGMENT)
        program.bindAttributeLocation("pos", 0)
        program.bindAttributeLocation("uv", 1)
        if not program.link():
            raise RuntimeError(f"YUV shader did not link: {program.log()}")
        self._program = program
        self._vao.create()
        self._vao.bind()
        self._vbo.create()
        self._vbo.setUsagePattern(QOpenGLBuffer.UsagePattern.DynamicDraw)
        self._vbo.bind()
        self._vbo.allocate(16 * 4)
        program.bind()
        program.enableAttributeArray(0)
        program.enableAttributeArray(1)
        program.setAttributeBuffer(0, GL_FLOAT, 0, 2, 16)
        program.setAttributeBuffer(1, GL_FLOAT, 8, 2, 16)
        program.release()
        self._vbo.release()
        self._vao.release()

    def paintGL(self) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), color("canvas.bg"))
        if self._pending is not None:
            p.beginNativePainting()
            self._upload(self._pending)
            p.endNativePainting()
            self._pending = None
        if self._frame_size is not None and self._program is not None and self.state.error is None:
            p.beginNativePainting()
            self._draw()
            p.endNativePainting()
            paint_band(p, self.picture_rect(), self.state.band)
        paint_overlay(p, self.rect(), self.state)
        p.end()
        self.paints += 1

    def _upload(self, yuv: YuvFrame) -> None:
        funcs = self.context().functions()
        funcs.glPixelStorei(GL_UNPACK_ALIGNMENT, 1)
        planes = [np.ascontiguousarray(a) for a in (yuv.y, yuv.u, yuv.v)]
        sizes = [(a.shape[1], a.shape[0]) for a in planes]
        gl = self._gl
        assert gl is not None
        if sizes != self._tex_sizes:
            for t in gl.textures:
                t.destroy()
            gl.textures = []
            for w, h in sizes:
                t = QOpenGLTexture(QOpenGLTexture.Target.Target2D)
                t.setFormat(QOpenGLTexture.TextureFormat.R8_UNorm)
                t.setSize(w, h)
                t.setMinMagFilters(QOpenGLTexture.Filter.Linear, QOpenGLTexture.Filter.Linear)
                t.setWrapMode(QOpenGLTexture.WrapMode.ClampToEdge)
                t.allocateStorage(QOpenGLTexture.PixelFormat.Red, QOpenGLTexture.PixelType.UInt8)
                gl.textures.append(t)
            self._tex_sizes = sizes
        for t, a in zip(self._textures, planes, strict=True):
            t.setData(QOpenGLTexture.PixelFormat.Red, QOpenGLTexture.PixelType.UInt8, _ptr(a))
        funcs.glPixelStorei(GL_UNPACK_ALIGNMENT, 4)  # QPainter's glyph uploads assume the default
        self._affine = yuv.rgb_affine()
        self._shown = yuv
        self._frame_size = (yuv.y.shape[1], yuv.y.shape[0])
        self.uploads += 1

    def _crop(self) -> tuple[int, int, int, int] | None:
        """The frame's pixels on screen (x0, y0, x1, y1): all of them, or the region of interest's."""
        if self._frame_size is None:
            return None
        fw, fh = self._frame_size
        return (0, 0, fw, fh) if self.state.roi is None else crop_box(self.state.roi, fw, fh)

    def picture_rect(self) -> QRect:
        """Where the picture is drawn (the whole canvas before the first frame)."""
        crop = self._crop()
        if crop is None:
            return self.rect()
        x0, y0, x1, y1 = crop
        return centred(self.rect(), fit_size((x1 - x0, y1 - y0), self.size()))

    def _draw(self) -> None:
        assert self._program is not None
        crop = self._crop()
        assert crop is not None
        assert self._frame_size is not None
        ratio = self.devicePixelRatioF()
        w_px, h_px = int(self.width() * ratio), int(self.height() * ratio)
        x0, y0, x1, y1 = crop
        fw, fh = fit_size((x1 - x0, y1 - y0), self.size())
        sx, sy = fw / max(1, self.width()), fh / max(1, self.height())
        tw, th = self._frame_size
        u0, u1, v0, v1 = x0 / tw, x1 / tw, y0 / th, y1 / th
        quad = np.array([-sx, -sy, u0, v1, sx, -sy, u1, v1, -sx, sy, u0, v0, sx, sy, u1, v0], dtype=np.float32)
        funcs = self.context().functions()
        funcs.glViewport(0, 0, w_px, h_px)
        self._program.bind()
        self._vao.bind()
        self._vbo.bind()
        self._vbo.write(0, _ptr(quad), quad.nbytes)
        m = self._affine
        # Codes are texels (0..1): rgb = M[:, :3] · yuv + M[:, 3] / 255 (M maps 0..255 codes to 0..255).
        prog = self._program
        prog.setUniformValue(prog.uniformLocation("yuv_to_rgb"), _mat3(m[:, :3]))
        off = [float(v) / 255.0 for v in m[:, 3]]
        prog.setUniformValue(prog.uniformLocation("offset"), off[0], off[1], off[2])
        for unit, (t, name) in enumerate(zip(self._textures, ("tex_y", "tex_u", "tex_v"), strict=True)):
            t.bind(unit)
            prog.setUniformValue1i(prog.uniformLocation(name), unit)
        funcs.glDrawArrays(GL_TRIANGLE_STRIP, 0, 4)
        for unit, t in enumerate(self._textures):
            t.release(unit)
        funcs.glActiveTexture(GL_TEXTURE0)  # QPainter draws text and images on unit 0
        self._vbo.release()
        self._vao.release()
        self._program.release()


def _ptr(a: npt.NDArray[Any]) -> int:
    """A `const void*` argument. The stubs say int, but PySide6 refuses a raw address (ValueError
    on QOpenGLBuffer.write and QOpenGLTexture.setData); a shiboken VoidPtr over the array works."""
    return cast("int", VoidPtr(a))  # type: ignore[arg-type]  # shiboken takes any buffer object


def _mat3(m: npt.NDArray[np.float32]) -> QMatrix3x3:
    return QMatrix3x3([float(v) for v in np.asarray(m, dtype=np.float64).reshape(-1)])
