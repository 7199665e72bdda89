#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""md2man.py: turn a man page written in plain markdown into troff (man(7)).

    md2man.py [--source "hmap 1.0.0"] [--date YYYY-MM-DD] NAME.SECTION.md OUT

The subset, which is all hmap's pages use:

    # NAME                     a section (.SH); the first must be NAME, whose
                               paragraph is "name[, name...] - what it is"
    ## Heading                 a subsection (.SS)
    text on lines              a paragraph; a blank line ends it
    - item                     a bullet list; lines indented under it continue
                               the item
    ```                        a code block, printed as is (no inline markup)
    `code`, **bold**          inline, both shown in bold

Anything else that markdown would render differently (tables, ###, numbered
lists, links, HTML, block quotes) is refused with the line and what to write
instead, rather than printed wrongly.  The page's title and section come
from the file name (hmapctl.8.md: HMAPCTL, 8); the date is
SOURCE_DATE_EPOCH's (reproducible builds), else today's.  Python stdlib only.
"""
import argparse
import datetime
import os
import re
import sys


class Md2ManError(Exception):
    pass


def esc(text):
    """Escape troff's specials in running text."""
    text = text.replace("\\", "\\e")
    return text


def esc_code(text):
    """Escape text shown literally: backslashes, and '-' as a real minus so
    that copied options work."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def line_start(text):
    """A line starting with '.' or '\'' would be a request: guard it."""
    if text.startswith((".", "'")):
        return "\\&" + text
    return text


INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def inline(text, where):
    out = []
    pos = 0
    for m in INLINE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc_code(m.group(1)) + "\\fR")
        else:
            out.append("\\fB" + esc(m.group(2)) + "\\fR")
        pos = m.end()
    rest = text[pos:]
    if "`" in rest:
        raise Md2ManError(f"{where}: unmatched ` (close the code span on the same line)")
    if re.search(r"\[[^\]]*\]\([^)]*\)", rest):
        raise Md2ManError(f"{where}: links are not supported (write the URL or page name as text)")
    out.append(esc(rest))
    return "".join(out)


def convert(lines, name, section, source, date):
    out = [f'.TH "{name.upper()}" "{section}" "{date}" "{source}" "{source}"',
           ".nh", ".ad l"]     # no hyphenation, ragged right: names stay whole
    para = []          # lines of the current paragraph or list item
    mode = None        # None, "p", "li"
    sections = []
    in_code = False
    code_start = 0

    def where(i):
        return f"{fname}:{i + 1}"

    def flush():
        nonlocal para, mode
        if para:
            text = " ".join(s.strip() for s, _ in para)
            i = para[0][1]
            if sections and sections[-1] == "NAME" and mode == "p":
                m = re.match(r"^(\S.*?) - (.+)$", text)
                if not m:
                    raise Md2ManError(f"{where(i)}: the NAME paragraph must read "
                                      "'name - what it does'")
                out.append(line_start(esc(m.group(1)) + " \\- " + inline(m.group(2), where(i))))
            else:
                out.append(".PP" if mode == "p" else ".IP \\(bu 2")
                out.append(line_start(inline(text, where(i))))
        para, mode = [], None

    for i, raw in enumerate(lines):
        line = raw.rstrip("\n").rstrip()
        if in_code:
            if line.strip() == "```":
                out.extend([".fi", ".RE"])
                in_code = False
            else:
                out.append(line_start(esc_code(line.expandtabs(8))) if line else "")
            continue
        if line.startswith("```"):
            flush()
            out.extend([".PP", ".RS 4", ".nf"])
            in_code, code_start = True, i
            continue
        if not line:
            flush()
            continue
        if line.startswith("#"):
            m = re.match(r"^(#{1,2}) (\S.*)$", line)
            if not m:
                raise Md2ManError(f"{where(i)}: only '# SECTION' and '## Subsection' headings "
                                  "are supported (use ## for this one)")
            flush()
            title = m.group(2).strip()
            if m.group(1) == "#":
                if not sections and title != "NAME":
                    raise Md2ManError(f"{where(i)}: the first section must be '# NAME'")
                sections.append(title)
                out.append(f".SH {esc(title.upper())}")
            else:
                if not sections:
                    raise Md2ManError(f"{where(i)}: '## {title}' before any '# SECTION'")
                out.append(f".SS {esc(title)}")
            continue
        if not sections:
            raise Md2ManError(f"{where(i)}: text before the first heading (start with '# NAME')")
        if line.lstrip().startswith("|"):
            raise Md2ManError(f"{where(i)}: tables are not supported (write a '-' list instead)")
        if re.match(r"^\s*\d+[.)] ", line):
            raise Md2ManError(f"{where(i)}: numbered lists are not supported (use '-' items)")
        if line.startswith(">"):
            raise Md2ManError(f"{where(i)}: block quotes are not supported (use a paragraph)")
        if re.match(r"^\s*<[a-zA-Z/!]", line):
            raise Md2ManError(f"{where(i)}: HTML is not supported")
        if line.startswith("- "):
            flush()
            mode = "li"
            para = [(line[2:], i)]
            continue
        if re.match(r"^\s*[*+] ", line):
            raise Md2ManError(f"{where(i)}: list items start with '- ' here")
        if mode == "li" and not line.startswith("  "):
            raise Md2ManError(f"{where(i)}: a list item continues on lines indented by two "
                              "spaces; end the list with a blank line")
        if mode is None:
            mode = "p"
        para.append((line, i))
    if in_code:
        raise Md2ManError(f"{where(code_start)}: code block never closed (add a line with ```)")
    flush()
    if "NAME" not in sections:
        raise Md2ManError(f"{fname}: no '# NAME' section")
    return "\n".join(out) + "\n"


fname = "?"


def main():
    global fname
    ap = argparse.ArgumentParser(description="plain markdown to man(7)")
    ap.add_argument("--source", default="hmap", help="footer, e.g. 'hmap 1.0.0'")
    ap.add_argument("--date", help="YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else today)")
    ap.add_argument("input", help="NAME.SECTION.md")
    ap.add_argument("output")
    a = ap.parse_args()
    fname = a.input
    m = re.match(r"^(.+)\.([1-9][a-z]*)\.md$", os.path.basename(a.input))
    if not m:
        print(f"md2man.py: {a.input}: name the file NAME.SECTION.md (e.g. hmapctl.8.md)",
              file=sys.stderr)
        return 2
    if a.date:
        date = a.date
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        date = datetime.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]),
                                               datetime.timezone.utc).strftime("%Y-%m-%d")
    else:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    try:
        with open(a.input, encoding="utf-8") as f:
            text = convert(f.readlines(), m.group(1), m.group(2), a.source, date)
    except Md2ManError as e:
        print(f"md2man.py: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"md2man.py: {e}", file=sys.stderr)
        return 1
    tmp = a.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
