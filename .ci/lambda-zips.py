#!/usr/bin/env python3
"""Zips each function `sam build` produced (as `sam deploy` uploads it), checks that its
bootstrap is an arm64 ELF, and reports the sizes (flagging zips over 5 MB). Usage: lambda-zips.py BUILD_DIR OUT_DIR"""
import os
import sys
import zipfile

LIMIT = 5 * 1024 * 1024


def main(build, out):
    os.makedirs(out, exist_ok=True)
    found = 0
    failed = False
    for name in sorted(os.listdir(build)):
        boot = os.path.join(build, name, "bootstrap")
        if not os.path.isfile(boot):
            continue
        found += 1
        with open(boot, "rb") as f:
            head = f.read(20)
        # ELF magic, 64-bit, e_machine 0xB7 (AArch64) at offset 18, little-endian.
        arm64 = head[:4] == b"\x7fELF" and head[4] == 2 and int.from_bytes(head[18:20], "little") == 0xB7
        zpath = os.path.join(out, f"{name}.zip")
        tmp = zpath + ".tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(boot, "rb") as f:
                z.writestr(info, f.read())
        os.replace(tmp, zpath)
        size, zsize = os.path.getsize(boot), os.path.getsize(zpath)
        ok = arm64
        failed |= not ok
        print(f"{name:24} bootstrap {size / 1e6:5.1f} MB  zip {zsize / 1e6:4.1f} MB  "
              f"{'arm64' if arm64 else 'NOT arm64'}{'' if zsize < LIMIT else '  zip over 5 MB'}")
    if found != 4:
        print(f"expected 4 functions in {build}, found {found}")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
