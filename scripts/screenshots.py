#!/usr/bin/env python3
"""Screenshots of the dashboard at a fixed size, for docs/: signs in through the login form and captures pages,
driving headless Chromium over the DevTools protocol.

    python3 scripts/screenshots.py http://127.0.0.1:7070 admin PASSWORD docs/screenshots

Needs Debian's chromium and `pip install websocket-client`.
"""
import base64, json, os, subprocess, sys, tempfile, time, urllib.request

import websocket  # websocket-client

base, user, password, out = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
profile = tempfile.mkdtemp()
chrome = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=9333",
                           f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            targets = json.load(urllib.request.urlopen("http://127.0.0.1:9333/json"))
            page = next(t for t in targets if t["type"] == "page")
            break
        except Exception:
            time.sleep(0.1)
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True)
    ids = iter(range(1, 10_000))

    def call(method, **params):
        request_id = next(ids)
        ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == request_id:
                return message.get("result", {})

    def go(url):
        call("Page.navigate", url=url)
        time.sleep(1.0)

    call("Page.enable")
    call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    go(base + "/login")
    call("Runtime.evaluate", expression=f"""
        document.querySelector('input[name=name]').value = {json.dumps(user)};
        document.querySelector('input[name=password]').value = {json.dumps(password)};
        document.querySelector('form.login').submit();""")
    time.sleep(1.5)
    apps = json.loads(call("Runtime.evaluate", expression="JSON.stringify([...document.querySelectorAll('td a')].map(a => a.getAttribute('href')))")["result"]["value"])
    pages = [("apps", base + "/apps?range=30m")]
    if apps:
        app = apps[0].split("?")[0]
        pages += [("overview", f"{base}{app}?range=30m"), ("databases", f"{base}{app}/databases?range=30m"),
                  ("errors", f"{base}{app}/errors?range=30m"), ("alerts", f"{base}{app}/alerts"),
                  ("deployments", f"{base}{app}/deployments?range=1h")]
    for name, url in pages:
        go(url)
        shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        with open(os.path.join(out, f"{name}.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("wrote", os.path.join(out, f"{name}.png"))
finally:
    chrome.terminate()
