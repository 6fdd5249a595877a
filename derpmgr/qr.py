"""QR codes as inline SVG markup: a single <path>, no style attributes or scripts, so a page can
embed it under the strict Content-Security-Policy."""

import qrcode
import qrcode.image.svg


def svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")
