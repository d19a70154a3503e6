"""The newcomers' guide: what cross-identification is and how to answer, with worked examples from real
FIRST fields (pictures drawn by ``docs/make_guide_images.py``). Opens on a user's first visit; the Guide
button opens it again."""

from __future__ import annotations

_EXAMPLE = """
<figure class="xid-guide-example">
  <img src="xid-static/guide/{image}.png" width="200" height="200" alt="{alt}">
  <figcaption><b>{title}</b><br>{text}</figcaption>
</figure>
"""

EXAMPLES = (
    ("compact", "A compact source", "One blob of radio emission (blue contours). The host galaxy sits on it: "
     "click the galaxy under the middle of the blob (red circle).", "a compact FIRST source with its host"),
    ("double", "A double", "Two lobes of one radio galaxy, joined or not. The host is between the lobes, often "
     "on a faint core: click it, not a lobe.", "a double-lobed radio source with its host near the core"),
    ("two-sources", "Two sources in one field", "Unrelated radio sources can share a field: mark the host of "
     "each one (press Another source, key a, where components are drawn).", "a field with two radio sources"),
    ("no-host", "No visible host", "Radio emission with no galaxy under it, or lobes whose core you cannot "
     "find: press No host. An answer of no host is as useful as a host.", "radio blobs without a visible host"),
)

GUIDE_HTML = """
<div class="xid-guide">
<p>Radio surveys see galaxies whose black holes blow jets and lobes; the light we see in the optical or
infrared comes from the galaxy itself, the <b>host</b>. Your job: for each radio source, find its host on the
optical/IR image under the blue radio contours, and click it. Experts check a sample of your answers; a
source is decided once several people agree.</p>
<div class="xid-guide-examples">{examples}</div>
<p><b>Also flag</b> what makes a source hard: <i>Artefact</i> (stripes or rings around a bright source: not
a real source), <i>Blend</i> (two sources overlapping), <i>Too zoomed in</i> (the source runs off the image:
XID cuts a wider field where it can), <i>Unsure</i>. A comment helps the experts.</p>
<p><b>Tools</b>: zoom with the wheel or + and −; change the image, stretch and contours under <i>Image and
contours</i>; type a catalogue ID or RA Dec to mark an exact position; <b>Next</b> saves (Enter);
<b>Back</b> lets you change an answer. Press <kbd>?</kbd> for every key.</p>
</div>
""".format(examples="".join(_EXAMPLE.format(image=image, title=title, text=text, alt=alt)
                            for image, title, text, alt in EXAMPLES))

STYLE = """
.xid-guide { max-width: 900px; font-size: 14px; line-height: 1.45; }
.xid-guide-examples { display: flex; flex-wrap: wrap; gap: 12px; }
.xid-guide-example { width: 200px; margin: 0; }
.xid-guide-example img { border-radius: 4px; display: block; }
.xid-guide-example figcaption { font-size: 13px; margin-top: 4px; }
"""
