"""Make a published asv dashboard render without internet access.

asv 0.6's ``index.html`` loads jQuery, flot, flot-orderbars, stupidtable, blueimp-md5 and
bootstrap from CDNs; offline the page stays blank ("Can not determine continental origin of
swallow"). This fetches the same libraries from the npm registry (``npm pack``), copies them into
``<html_dir>/vendor/``, points the ``<script>``/``<link>`` tags there and drops the SRI attributes.
stupidtable 1.0.1 is not on npm; ``stupid-table-plugin@1.1.3`` works in its place.

Usage: ``python tools/asv_offline.py [.asv/html]`` (needs ``npm``), then serve the directory with
``asv preview`` or ``python -m http.server`` (``file://`` does not work: the page loads JSON).
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

MAP = {  # CDN file name -> (npm spec, member inside the npm tarball)
    "jquery-3.3.1.min.js": ("jquery@3.3.1", "package/dist/jquery.min.js"),
    "flot/0.8.3/jquery.flot.min.js": ("flot@0.8.3", "package/jquery.flot.js"),
    "flot/0.8.3/jquery.flot.time.min.js": ("flot@0.8.3", "package/jquery.flot.time.js"),
    "flot/0.8.3/jquery.flot.selection.min.js": ("flot@0.8.3", "package/jquery.flot.selection.js"),
    "flot/0.8.3/jquery.flot.categories.min.js": (
        "flot@0.8.3",
        "package/jquery.flot.categories.js",
    ),
    "jquery.flot.orderBars.js": ("flot-orderbars@1.0.0", "package/js/jquery.flot.orderBars.js"),
    "stupidtable.min.js": ("stupid-table-plugin@1.1.3", "package/stupidtable.min.js"),
    "md5.min.js": ("blueimp-md5@2.19.0", "package/js/md5.min.js"),
    "bootstrap.min.js": ("bootstrap@3.1.1", "package/dist/js/bootstrap.min.js"),
    "bootstrap.min.css": ("bootstrap@3.1.1", "package/dist/css/bootstrap.min.css"),
}


def main(html_dir: str) -> None:
    html = pathlib.Path(html_dir)
    if not (html / "index.html").is_file():
        sys.exit(f"{html}/index.html not found: run `asv publish` first")
    vendor = html / "vendor"
    vendor.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        specs = sorted({spec for spec, _ in MAP.values()})
        subprocess.run(
            ["npm", "pack", "--silent", *specs], cwd=tmp, check=True, stdout=subprocess.DEVNULL
        )
        tars = {t.name: tarfile.open(t) for t in pathlib.Path(tmp).glob("*.tgz")}
        for key, (spec, member) in MAP.items():
            name, version = spec.rsplit("@", 1)
            data = tars[f"{name}-{version}.tgz"].extractfile(member).read()
            (vendor / pathlib.Path(key).name).write_bytes(data)
        for tar in tars.values():
            tar.close()
    for page in html.glob("*.html"):
        text = page.read_text()
        for key in MAP:
            text = re.sub(
                r'(src|href)="https://[^"]*' + re.escape(key) + '"',
                rf'\1="vendor/{pathlib.Path(key).name}"',
                text,
            )
        page.write_text(re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", text))
    print(f"{html}: {len(MAP)} libraries vendored into {vendor}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".asv/html")
