"""Draw the program's icon (an envelope with a check mark) to resources/icons/.

Run: QT_QPA_PLATFORM=offscreen python scripts/make_icon.py
Drawn with Qt rather than shipped as an SVG, because the bundle leaves out the SVG
plugin; PNG support is built into Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

SIZE = 256


def draw() -> QImage:
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    body = QRectF(20, 58, 216, 150)
    painter.setPen(QPen(QColor("#1a4f8b"), 10))
    painter.setBrush(QColor("#e8f0fb"))
    painter.drawRoundedRect(body, 18, 18)
    flap = QPainterPath(QPointF(28, 66))
    flap.lineTo(QPointF(128, 140))
    flap.lineTo(QPointF(228, 66))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(flap)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#1e7a34"))
    painter.drawEllipse(QRectF(150, 134, 96, 96))
    painter.setPen(QPen(QColor("white"), 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                        Qt.PenJoinStyle.RoundJoin))
    check = QPainterPath(QPointF(174, 184))
    check.lineTo(QPointF(193, 203))
    check.lineTo(QPointF(224, 164))
    painter.drawPath(check)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    out = Path(__file__).resolve().parents[1] / "resources" / "icons" / "mailsettings.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    draw().save(str(out))
    print(f"wrote {out}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
