"""Image checks: JPEG decoding, dpi, scale, colour and legibility of scan pages."""
