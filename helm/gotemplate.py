"""The subset of Go text/template and Sprig that helm/anteroom uses, for checking the chart
where Helm is not installed.

Supported: text with {{- -}} trimming and {{/* comments */}}; if / else if / else, range (over
lists, maps and integers via until, with `$v :=` and `$i, $v :=`), with, define, template,
include; variables (`:=`, `=`, `$`); field chains on dot and variables; parenthesised
pipelines; and the functions in FUNCTIONS below. Anything else is a TemplateError, so a chart
that starts using a new construct fails the check instead of rendering wrongly.

Rendering is deterministic: randAlphaNum draws from a seeded generator and lookup finds
nothing, as `helm template` does without a cluster.

Numbers behave as in Helm: values files reach templates as float64 (see helm_values), which
print as Go prints them (1e+06 from a million up) and do not compare with ints.
"""

import base64
import copy
import decimal
import hashlib
import json
import random
import re
import string

import yaml


class TemplateError(Exception):
    pass


class FailError(TemplateError):
    """The chart called `fail` or `required` on purpose."""


# ---------------------------------------------------------------------------------------------
# Lexing: text and actions, with trim markers applied.

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


def _lex(src, name):
    items = []  # ("text", str) | ("action", str, line)
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(src):
        text = src[pos:m.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        if text:
            items.append(("text", text))
        body = m.group(2).strip()
        line = src.count("\n", 0, m.start()) + 1
        if not (body.startswith("/*") and body.endswith("*/")):
            items.append(("action", body, line))
        trim_next = bool(m.group(3))
        pos = m.end()
    text = src[pos:]
    if trim_next:
        text = text.lstrip(" \t\r\n")
    if text:
        items.append(("text", text))
    return items


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<punct>[()|,])
""", re.X)


def _tokens(body, where):
    out = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            raise TemplateError(f"{where}: cannot parse '{body[pos:pos + 20]}'")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        val = m.group(kind)
        # A field directly after ")" (no space) is a field of the parenthesised value.
        if kind == "field" and val != "." and out and out[-1] == ("punct", ")") \
                and body[m.start() - 1] == ")":
            kind = "chain"
        out.append((kind, val))
    return out


# ---------------------------------------------------------------------------------------------
# Parsing.

class _Pipeline:
    def __init__(self, decl, op, cmds, where):
        self.decl, self.op, self.cmds, self.where = decl, op, cmds, where


def _parse_pipeline(toks, where):
    decl, op = [], None
    # "$a :=", "$a =", "$i, $v :="
    i = 0
    names = []
    while i < len(toks) and toks[i][0] == "var":
        names.append(toks[i][1])
        if i + 1 < len(toks) and toks[i + 1] == ("punct", ","):
            i += 2
            continue
        if i + 1 < len(toks) and toks[i + 1][0] in ("decl", "assign"):
            decl, op = names, toks[i + 1][1]
            i += 2
        break
    if op is None:
        i = 0
    cmds, cur, depth, sub = [], [], 0, []
    for tok in toks[i:]:
        if depth:
            if tok == ("punct", "("):
                depth += 1
            elif tok == ("punct", ")"):
                depth -= 1
                if depth == 0:
                    cur.append(("pipe", _parse_pipeline(sub, where)))
                    sub = []
                    continue
            sub.append(tok)
            continue
        if tok == ("punct", "("):
            depth = 1
        elif tok == ("punct", "|"):
            cmds.append(cur)
            cur = []
        elif tok[0] == "chain" and cur and cur[-1][0] == "pipe":
            cur[-1] = ("pipefield", cur[-1][1], tok[1])
        else:
            cur.append(tok)
    if depth:
        raise TemplateError(f"{where}: unbalanced parentheses")
    cmds.append(cur)
    if any(not c for c in cmds):
        raise TemplateError(f"{where}: empty command in pipeline")
    return _Pipeline(decl, op, cmds, where)


class _Node:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)


def _parse(items, name, defines):
    """Returns the top-level node list; `define`s go into `defines`."""
    pos = 0

    def where(line):
        return f"{name}:{line}"

    def block(stop):
        nonlocal pos
        nodes = []
        while pos < len(items):
            it = items[pos]
            if it[0] == "text":
                nodes.append(_Node("text", text=it[1]))
                pos += 1
                continue
            body, line = it[1], it[2]
            word = body.split(None, 1)[0] if body else ""
            rest = body[len(word):].strip()
            if word in stop:
                return nodes, word, rest, line
            pos += 1
            if word in ("if", "with"):
                branches, els = [], None
                cond = _parse_pipeline(_tokens(rest, where(line)), where(line))
                while True:
                    body_nodes, end, erest, eline = block(("else", "end"))
                    pos += 1
                    branches.append((cond, body_nodes))
                    if end == "end":
                        break
                    if erest.startswith("if ") and word == "if":
                        cond = _parse_pipeline(_tokens(erest[3:], where(eline)), where(eline))
                        continue
                    if erest:
                        raise TemplateError(f"{where(eline)}: unsupported 'else {erest}'")
                    els, _, _, _ = block(("end",))
                    pos += 1
                    break
                nodes.append(_Node(word, branches=branches, els=els, line=line))
            elif word == "range":
                pipe = _parse_pipeline(_tokens(rest, where(line)), where(line))
                body_nodes, end, _, _ = block(("else", "end"))
                pos += 1
                els = None
                if end == "else":
                    els, _, _, _ = block(("end",))
                    pos += 1
                nodes.append(_Node("range", pipe=pipe, body=body_nodes, els=els, line=line))
            elif word == "define":
                toks = _tokens(rest, where(line))
                if len(toks) != 1 or toks[0][0] != "str":
                    raise TemplateError(f"{where(line)}: define needs a quoted name")
                body_nodes, _, _, _ = block(("end",))
                pos += 1
                defines[json.loads(toks[0][1])] = body_nodes
            elif word == "template":
                toks = _tokens(rest, where(line))
                pipe = _parse_pipeline(toks[1:], where(line)) if len(toks) > 1 else None
                nodes.append(_Node("template", tname=json.loads(toks[0][1]), pipe=pipe,
                                   line=line))
            elif word in ("else", "end", "block"):
                raise TemplateError(f"{where(line)}: unexpected '{word}'")
            else:
                pipe = _parse_pipeline(_tokens(body, where(line)), where(line))
                nodes.append(_Node("action", pipe=pipe, line=line))
        if stop:
            raise TemplateError(f"{name}: missing {{{{ end }}}}")
        return nodes, None, None, None

    nodes, _, _, _ = block(())
    return nodes


# ---------------------------------------------------------------------------------------------
# Values.

def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


def helm_values(v):
    """Values as Helm hands them to templates. It reads values files through JSON, so every
    number in them is a float64; only --set makes ints."""
    if isinstance(v, dict):
        return {k: helm_values(x) for k, x in v.items()}
    if isinstance(v, list):
        return [helm_values(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _go_float(f):
    """A float64 as Go's %v prints it: the shortest digits, in e-notation when the decimal
    exponent is below -4 or 6 and more (1000000 -> 1e+06)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign, digits, exp = decimal.Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digits))
    point = len(digits) + exp  # digits before the decimal point
    neg = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{neg}{mant}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return neg + digits + "0" * (point - len(digits))
    return f"{neg}{digits[:point]}.{digits[point:]}"


def _go_type(v):
    return {bool: "bool", int: "int", float: "float64", str: "string"}.get(type(v), "interface {}")


def to_text(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(to_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{to_text(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def _json_numbers(v):
    """Helm's toYaml and toJson go through encoding/json, which writes a whole float64 as an
    integer (1000000, not 1e+06 or 1000000.0)."""
    if isinstance(v, dict):
        return {k: _json_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_numbers(x) for x in v]
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    return v


class _GoYamlDumper(yaml.SafeDumper):
    """Picks string styles as Go's yaml does, so rendered text (and checksums over it) match
    Helm's: a literal block for several lines, double quotes for what would read as another
    type ("0123", "true"), else plain or single quotes as the emitter allows."""

    def represent_str(self, data):
        style = None
        if "\n" in data:
            style = "|"
        elif self.resolve(yaml.ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
            style = '"'
        return self.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_GoYamlDumper.add_representer(str, _GoYamlDumper.represent_str)


def _to_yaml(v):
    if v is None:
        return "null"
    out = yaml.dump(_json_numbers(v), Dumper=_GoYamlDumper, default_flow_style=False,
                    sort_keys=True, width=1 << 20, allow_unicode=True)
    if out.endswith("\n...\n"):
        out = out[:-5]
    return out.rstrip("\n")


def _to_json(v):
    out = json.dumps(_json_numbers(v), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    # encoding/json escapes HTML characters.
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _go_printf(fmt, *args):
    args = list(args)
    out = []
    i = 0
    pieces = re.split(r"(%[-+ 0#]*\d*(?:\.\d+)?[a-zA-Z%])", fmt)
    for p in pieces:
        if not p.startswith("%") or len(p) < 2:
            out.append(p)
            continue
        verb = p[-1]
        if verb == "%":
            out.append("%")
            continue
        if i >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[i]
        i += 1
        if verb == "d":
            # A float64 from values is no %d operand in Go: pipe it through int first.
            if not isinstance(a, int) or isinstance(a, bool):
                out.append(f"%!d({_go_type(a)}={to_text(a)})")
            else:
                out.append(str(a))
        elif verb == "s" and (a is None or isinstance(a, (bool, int, float))):
            out.append("%!s(<nil>)" if a is None else f"%!s({_go_type(a)}={to_text(a)})")
        elif verb == "q":
            out.append(json.dumps(to_text(a), ensure_ascii=False))
        else:
            out.append(to_text(a))
    return "".join(out)


def _merge(dst, src, overwrite):
    for k, v in src.items():
        if k in dst and isinstance(dst[k], dict) and isinstance(v, dict):
            _merge(dst[k], v, overwrite)
        elif k not in dst or overwrite:
            dst[k] = copy.deepcopy(v)
    return dst


def _need_int(v, fn):
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise TemplateError(f"{fn}: expected a number, got {v!r}")
    return int(float(v))


def _fail(msg):
    raise FailError(msg)


def _required(msg, v):
    if v is None or v == "":
        raise FailError(msg)
    return v


def _trunc(n, s):
    n = _need_int(n, "trunc")
    return s[:n] if n >= 0 else s[n:]


def _index(v, *keys):
    for k in keys:
        if v is None:
            return None
        if isinstance(v, dict):
            v = v.get(k)
        elif isinstance(v, (list, tuple)):
            v = v[_need_int(k, "index")]
        else:
            raise TemplateError(f"index of {type(v).__name__}")
    return v


def _indent(n, s):
    pad = " " * _need_int(n, "indent")
    return "\n".join(pad + line for line in to_text(s).split("\n"))


def _kind(v):
    """Go's basic kinds. Comparing two kinds is an error, such as a float64 from values with an
    int literal (eq .Values.replicas 1); nil only equals nil."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return "other"


def _cmp(op):
    def f(a, b):
        ka, kb = _kind(a), _kind(b)
        if ka not in ("int", "float", "string") or kb not in ("int", "float", "string"):
            raise TemplateError(f"invalid type for comparison: {a!r}, {b!r}")
        if ka != kb:
            raise TemplateError(f"incompatible types for comparison: {a!r}, {b!r}")
        return op(a, b)
    return f


def _eq(a, *bs):
    for b in bs:
        ka, kb = _kind(a), _kind(b)
        if ka is None or kb is None:
            if ka == kb:
                return True
            continue
        if ka != kb:
            raise TemplateError(f"incompatible types for comparison: {a!r}, {b!r}")
        if ka == "other":
            raise TemplateError(f"non-comparable type {a!r}")
        if a == b:
            return True
    return False


def _print(*args):
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += to_text(a)
    return out


_ALNUM = string.ascii_letters + string.digits


class Engine:
    """Holds a chart's templates and renders them. Not thread-safe."""

    def __init__(self, seed="anteroom"):
        self.defines = {}
        self.files = {}  # template path -> nodes
        self.rng = random.Random(seed)
        self.funcs = {
            "default": lambda d, v=None: v if truthy(v) else d,
            "required": _required,
            "fail": _fail,
            # Sprig's quote and squote skip nil arguments.
            "quote": lambda *a: " ".join(json.dumps(to_text(x), ensure_ascii=False)
                                         for x in a if x is not None),
            "squote": lambda *a: " ".join("'" + to_text(x) + "'" for x in a if x is not None),
            "toYaml": _to_yaml,
            "toJson": _to_json,
            "nindent": lambda n, s: "\n" + _indent(n, s),
            "indent": _indent,
            "printf": _go_printf,
            "print": _print,
            "b64enc": lambda s: base64.b64encode(to_text(s).encode()).decode(),
            "b64dec": lambda s: base64.b64decode(to_text(s)).decode(),
            "sha256sum": lambda s: hashlib.sha256(to_text(s).encode()).hexdigest(),
            "randAlphaNum": lambda n: "".join(self.rng.choice(_ALNUM)
                                              for _ in range(_need_int(n, "randAlphaNum"))),
            "trunc": _trunc,
            "trimSuffix": lambda suf, s: s[:-len(suf)] if suf and s.endswith(suf) else s,
            "trimPrefix": lambda pre, s: s[len(pre):] if pre and s.startswith(pre) else s,
            "contains": lambda sub, s: to_text(sub) in to_text(s),
            "hasPrefix": lambda pre, s: to_text(s).startswith(to_text(pre)),
            "replace": lambda old, new, s: to_text(s).replace(old, new),
            "lower": lambda s: to_text(s).lower(),
            "upper": lambda s: to_text(s).upper(),
            "toString": to_text,
            "list": lambda *a: list(a),
            "dict": lambda *a: {to_text(a[i]): a[i + 1] for i in range(0, len(a) - 1, 2)},
            "set": lambda d, k, v: (d.__setitem__(k, v), d)[1],
            "hasKey": lambda d, k: isinstance(d, dict) and k in d,
            "append": lambda l, v: list(l or []) + [v],
            "until": lambda n: list(range(_need_int(n, "until"))),
            "int": lambda v: 0 if v is None else _need_int(v, "int"),
            "add": lambda *a: sum(_need_int(x, "add") for x in a),
            "join": lambda sep, l: sep.join(to_text(x) for x in (l or [])),
            "splitList": lambda sep, s: to_text(s).split(sep),
            "eq": _eq,
            "ne": lambda a, b: not _eq(a, b),
            "lt": _cmp(lambda a, b: a < b),
            "le": _cmp(lambda a, b: a <= b),
            "gt": _cmp(lambda a, b: a > b),
            "ge": _cmp(lambda a, b: a >= b),
            "not": lambda v: not truthy(v),
            "empty": lambda v: not truthy(v),
            "len": lambda v: len(v or []),
            "index": _index,
            "ternary": lambda a, b, c: a if truthy(c) else b,
            "deepCopy": copy.deepcopy,
            "mustMergeOverwrite": lambda d, *s: [_merge(d, x or {}, True) for x in s][-1],
            "merge": lambda d, *s: [_merge(d, x or {}, False) for x in s][-1],
            "lookup": lambda *a: {},
            "include": self._include,
        }

    # -- loading --------------------------------------------------------------------------

    def add(self, path, src):
        """Parses one template file; named templates become available to every file."""
        self.files[path] = _parse(_lex(src, path), path, self.defines)

    # -- rendering ------------------------------------------------------------------------

    def render(self, path, data):
        return self._exec(self.files[path], data, [{"$": data}])

    def _include(self, name, data):
        nodes = self.defines.get(name)
        if nodes is None:
            nodes = self.files.get(name)
        if nodes is None:
            raise TemplateError(f"include: no template named '{name}'")
        return self._exec(nodes, data, [{"$": data}])

    def _exec(self, nodes, dot, scopes):
        out = []
        for n in nodes:
            if n.kind == "text":
                out.append(n.text)
            elif n.kind == "action":
                v = self._pipe(n.pipe, dot, scopes)
                if not n.pipe.decl:
                    out.append(to_text(v))
            elif n.kind in ("if", "with"):
                scopes.append({})
                try:
                    for cond, body in n.branches:
                        v = self._pipe(cond, dot, scopes)
                        if truthy(v):
                            out.append(self._exec(body, v if n.kind == "with" else dot, scopes))
                            break
                    else:
                        if n.els is not None:
                            out.append(self._exec(n.els, dot, scopes))
                finally:
                    scopes.pop()
            elif n.kind == "range":
                out.append(self._range(n, dot, scopes))
            elif n.kind == "template":
                data = self._pipe(n.pipe, dot, scopes) if n.pipe else None
                out.append(self._include(n.tname, data))
        return "".join(out)

    def _range(self, n, dot, scopes):
        pipe = n.pipe
        coll = self._pipe(_Pipeline([], None, pipe.cmds, pipe.where), dot, scopes)
        if isinstance(coll, dict):
            pairs = [(k, coll[k]) for k in sorted(coll)]
        elif isinstance(coll, (list, tuple)):
            pairs = list(enumerate(coll))
        elif isinstance(coll, int) and not isinstance(coll, bool):
            pairs = [(i, i) for i in range(coll)]
        elif coll is None:
            pairs = []
        else:
            raise TemplateError(f"{pipe.where}: range over {type(coll).__name__}")
        if not pairs:
            return self._exec(n.els, dot, scopes) if n.els is not None else ""
        out = []
        for k, v in pairs:
            scope = {}
            if len(pipe.decl) == 1:
                scope[pipe.decl[0]] = v
            elif len(pipe.decl) == 2:
                scope[pipe.decl[0]], scope[pipe.decl[1]] = k, v
            scopes.append(scope)
            try:
                out.append(self._exec(n.body, v, scopes))
            finally:
                scopes.pop()
        return "".join(out)

    def _pipe(self, pipe, dot, scopes):
        val, have = None, False
        for cmd in pipe.cmds:
            val = self._cmd(cmd, dot, scopes, val, have, pipe.where)
            have = True
        if pipe.decl:
            if len(pipe.decl) != 1:
                raise TemplateError(f"{pipe.where}: two variables outside range")
            name = pipe.decl[0]
            if pipe.op == ":=":
                scopes[-1][name] = val
            else:
                for s in reversed(scopes):
                    if name in s:
                        s[name] = val
                        break
                else:
                    raise TemplateError(f"{pipe.where}: undefined variable {name}")
        return val

    def _lookup_var(self, name, scopes, where):
        for s in reversed(scopes):
            if name in s:
                return s[name]
        raise TemplateError(f"{where}: undefined variable {name}")

    @staticmethod
    def _fields(v, chain, where):
        for f in [x for x in chain.split(".") if x]:
            if v is None:
                return None
            if isinstance(v, dict):
                v = v.get(f)
            elif hasattr(v, f):
                v = getattr(v, f)
            else:
                raise TemplateError(f"{where}: can't evaluate field {f} in {type(v).__name__}")
        return v

    def _operand(self, tok, dot, scopes, where):
        kind, val = tok[0], tok[1]
        if kind == "str":
            return json.loads(val)
        if kind == "raw":
            return val[1:-1]
        if kind == "num":
            return float(val) if "." in val else int(val)
        if kind == "field":
            return dot if val == "." else self._fields(dot, val, where)
        if kind == "var":
            name, _, chain = val.partition(".")
            return self._fields(self._lookup_var(name, scopes, where), chain, where)
        if kind == "pipe":
            return self._pipe(val, dot, scopes)
        if kind == "pipefield":
            return self._fields(self._pipe(val, dot, scopes), tok[2], where)
        if kind == "ident":
            if val in ("true", "false"):
                return val == "true"
            if val == "nil":
                return None
            return self._call(val, [], where)
        raise TemplateError(f"{where}: unexpected {val}")

    def _call(self, name, args, where):
        f = self.funcs.get(name)
        if f is None:
            raise TemplateError(f"{where}: function \"{name}\" not defined in the checker")
        try:
            return f(*args)
        except TemplateError as e:
            if isinstance(e, FailError):
                raise
            raise TemplateError(f"{where}: {name}: {e}") from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
            raise TemplateError(f"{where}: {name}: {e}") from None

    def _cmd(self, cmd, dot, scopes, piped, have_piped, where):
        head = cmd[0]
        if head[0] == "ident" and head[1] not in ("true", "false", "nil"):
            if head[1] in ("and", "or"):
                return self._andor(head[1], cmd[1:], dot, scopes, piped, have_piped, where)
            args = [self._operand(t, dot, scopes, where) for t in cmd[1:]]
            if have_piped:
                args.append(piped)
            return self._call(head[1], args, where)
        v = self._operand(head, dot, scopes, where)
        if callable(v):
            args = [self._operand(t, dot, scopes, where) for t in cmd[1:]]
            if have_piped:
                args.append(piped)
            return v(*args)
        if len(cmd) > 1 or have_piped:
            raise TemplateError(f"{where}: can't give arguments to a non-function")
        return v

    def _andor(self, op, toks, dot, scopes, piped, have_piped, where):
        thunks = [lambda t=t: self._operand(t, dot, scopes, where) for t in toks]
        if have_piped:
            thunks.append(lambda: piped)
        v = None
        for th in thunks:
            v = th()
            if (op == "and" and not truthy(v)) or (op == "or" and truthy(v)):
                return v
        return v
