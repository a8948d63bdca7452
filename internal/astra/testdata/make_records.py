"""Writes records.jsonl and broken.jsonl, the ASTRA test records of package
astra, in the shape of ../../../../shared/astra/FORMAT.md. Like ASTRA's
pipeline, it runs each tool's code and keeps what print() wrote as
tool_call_ans, so the recorded outputs are real.

    cd internal/astra/testdata && python3 make_records.py
"""
import contextlib
import io
import json

def ans(code, stmt):
    env = {}
    exec(code, env)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec("print(" + stmt + ")", env)
    return out.getvalue()

def env(question, answer, doc, code, stmt, merge=False):
    e = {"question": question, "answer": answer,
         "env_synthesis_result": {"data": {"tool_document": doc, "tool_call_statement": stmt,
                                           "code": code, "tool_call_ans": ans(code, stmt)}}}
    if merge:
        e["merge_flag"] = True
    return e

def step(i, level, q, a, deps=None, tool=True, parallel=False):
    return {"_uuid": i, "hop_level": level, "sub_question": q, "sub_answer": a, "is_parallel": parallel,
            "dependency": deps, "tool_necessity": tool, "reason": "test"}

def record(uuid, lang, scenario, question, final, trace, envs):
    return {"uuid": uuid, "_metadata": {"domain": "test", "language": lang, "min_num_hops": 1, "max_num_hops": 3},
            "scenario_type": scenario, "main_question": question, "final_answer": final,
            "decomposition_trace": trace, "tool_necessity_legitimacy": True,
            "verify_result": {"score": 0.9}, "env_result": envs}

def obj(props, required):
    return {"type": "object", "properties": props, "required": required}

# 1. Parallel multi-hop: a merged tool used twice in parallel, a reasoning
# step with a null env_result, then a tool call with a numeric argument.
city_code = '''def city_stats(city, metric="population"):
    data = {"lyon": {"population": 522250, "mayor": "Gregory Doucet"},
            "marseille": {"population": 873076, "mayor": "Benoit Payan"}}
    c = city.strip().lower()
    if c not in data:
        return {"error": "unknown city"}
    return {"city": city, metric: data[c][metric]}'''
city_doc = {"name": "city_stats", "description": "Statistics about a French city.",
            "parameters": obj({"city": {"type": "string", "description": "City name."},
                               "metric": {"type": "string", "enum": ["population", "mayor"], "default": "population"}},
                              ["city"])}
mayor_code = '''def mayor_term(name, year):
    terms = {("benoit payan", 2024): "in office since 2020"}
    k = (name.strip().lower(), int(year))
    return terms.get(k, "no data")'''
mayor_doc = {"name": "mayor_term", "description": "Whether a mayor was in office in a year.",
             "parameters": obj({"name": {"type": "string"}, "year": {"type": "integer"}}, ["name", "year"])}
r1 = record("t1-parallel-merged", "en", "Parallel Multi-Hop",
            "Of Lyon and Marseille, take the larger city; since when has its mayor been in office (as of 2024)?",
            "since 2020",
            [step(1, 1, "Population of Lyon?", "522250", parallel=True),
             step(2, 1, "Population of Marseille?", "873076", parallel=True),
             step(3, 2, "Which is larger?", "Marseille", deps=[1, 2], tool=False),
             step(4, 3, "Since when is the mayor of Marseille in office?", "since 2020", deps=[3])],
            {"1": env("Population of Lyon?", "522250", city_doc, city_code, "city_stats(city='Lyon')", True),
             "2": env("Population of Marseille?", "873076", city_doc, city_code,
                      "city_stats(city='Marseille', metric='population')", True),
             "3": None,
             "4": env("Since when is the mayor of Marseille in office?", "since 2020", mayor_doc, mayor_code,
                      "mayor_term(name='Benoit Payan', year=2024)")})

# 2. Numeric, negative, float, list, dict, True/False/None arguments.
wx_code = '''def forecast(lat, lon, days=1, units="metric", hourly=False, fields=None, options=None, station=None):
    if round(lat, 2) == -33.87 and round(lon, 2) == 151.21:
        temps = [22.5, 24.0, 19.5][:days]
        return {"place": "Sydney", "max_temp": max(temps), "units": units, "fields": fields, "hourly": hourly}
    return {"error": "no forecast"}'''
wx_doc = {"name": "forecast", "description": "Weather forecast for coordinates.",
          "parameters": obj({"lat": {"type": "number"}, "lon": {"type": "number"},
                             "days": {"type": "integer", "default": 1},
                             "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"},
                             "hourly": {"type": "boolean", "default": False},
                             "fields": {"type": "array", "items": {"type": "string"}},
                             "options": {"type": "object"},
                             "station": {"type": ["string", "null"]}},
                            ["lat", "lon"])}
r2 = record("t2-numeric-args", "en", "Single-Hop",
            "What is the highest temperature forecast for Sydney over the next 3 days, in Celsius?", "24.0",
            [step(1, 1, "Max temperature at -33.87, 151.21 over 3 days?", "24.0")],
            {"1": env("Max temperature at -33.87, 151.21 over 3 days?", "24.0", wx_doc, wx_code,
                      "forecast(lat=-33.87, lon=+151.21, days=3, units='metric', hourly=False, "
                      "fields=['temp', \"rain\"], options={'lang': 'en', 'detail': [1, 2.5e0]}, station=None)")})

# 3. Chinese text, single quotes and \\u escapes, two hops.
poem_code = '''def poem_author(title):
    poems = {"静夜思": "李白", "春晓": "孟浩然"}
    t = title.strip("《》 ")
    return "《" + t + "》的作者是" + poems[t] if t in poems else "未找到"'''
poem_doc = {"name": "poem_author", "description": "查询唐诗的作者。",
            "parameters": obj({"title": {"type": "string", "description": "诗名"}}, ["title"])}
birth_code = '''def birth_year(person, calendar="公历"):
    years = {"李白": 701, "孟浩然": 689}
    return {"人物": person, "出生年份": years.get(person.strip(), None), "历法": calendar}'''
birth_doc = {"name": "birth_year", "description": "查询历史人物的出生年份。",
             "parameters": obj({"person": {"type": "string"},
                                "calendar": {"type": "string", "default": "公历"}}, ["person"])}
r3 = record("t3-chinese", "zh", "Multi-Hop", "《静夜思》的作者出生于哪一年?", "701年",
            [step(1, 1, "《静夜思》的作者是谁?", "李白"),
             step(2, 2, "李白出生于哪一年?", "701", deps=[1])],
            {"1": env("《静夜思》的作者是谁?", "李白", poem_doc, poem_code, "poem_author(title='静夜思')"),
             "2": env("李白出生于哪一年?", "701", birth_doc, birth_code,
                      "poem_tools.birth_year(person='\\u674e\\u767d', calendar=\"公历\")".replace("poem_tools.", ""))})

# 4. Positional arguments, named from the Python signature; two
# sub-questions answered by the same call.
conv_code = '''def convert(value, from_unit, to_unit="mi"):
    f = {("km", "mi"): 0.621371}
    return "%s %s = %.1f %s" % (value, from_unit, value * f[(from_unit, to_unit)], to_unit)'''
conv_doc = {"name": "convert", "description": "Convert a distance between units.",
            "parameters": obj({"value": {"type": "number"}, "from_unit": {"type": "str"},
                               "to_unit": {"type": "str", "default": "mi"}}, ["value", "from_unit"])}
r4 = record("t4-positional", "en", "Parallel Single-Hop", "How many miles is 42 km, to one decimal?", "26.1",
            [step(1, 1, "42 km in miles?", "26.1", parallel=True),
             step(2, 1, "Is the converted value rounded to one decimal?", "26.1 mi", parallel=True)],
            {"1": env("42 km in miles?", "26.1", conv_doc, conv_code, "convert(42, 'km')"),
             "2": env("Rounded?", "26.1 mi", conv_doc, conv_code, "convert(42, 'km', to_unit='mi')")})

with open("records.jsonl", "w", encoding="utf-8") as f:
    for r in (r1, r2, r3, r4):
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

# Broken records: each must be skipped with the reason in its uuid.
def broken(uuid, mutate):
    r = json.loads(json.dumps(r2))
    r["uuid"] = uuid
    mutate(r)
    return json.dumps(r, ensure_ascii=False)

def data(r):
    return r["env_result"]["1"]["env_synthesis_result"]["data"]

def setitem(d, k, v):
    d[k] = v

lines = [
    broken("b-no-schema", lambda r: data(r).pop("tool_document")),
    broken("b-unparsable-call", lambda r: setitem(data(r), "tool_call_statement", "forecast(lat=latitude, lon=1)")),
    broken("b-answer-not-in-output", lambda r: setitem(r["decomposition_trace"][0], "sub_answer", "31.5")),
    broken("b-wrong-function", lambda r: setitem(data(r), "tool_call_statement", "weather(lat=1.0, lon=2.0)")),
    broken("b-schema-mismatch", lambda r: setitem(data(r), "tool_call_statement", "forecast(lat='south', lon=1)")),
    broken("b-all-null", lambda r: setitem(r["env_result"], "1", None)),
    broken("b-cycle", lambda r: setitem(r["decomposition_trace"][0], "dependency", [1])),
    broken("b-no-final-answer", lambda r: setitem(r, "final_answer", "")),
    '{"uuid": "b-not-json", "main_question": ',
    json.dumps({"main_question": "no uuid", "final_answer": "x"}),
]
with open("broken.jsonl", "w", encoding="utf-8") as f:
    for l in lines:
        f.write(l + "\n")
