/// Building HTML safely: every text that came from outside (app, transaction and error names, messages) goes
/// through ``escape(_:)``.
enum HTML {
    /// Escapes text for element content and quoted attribute values.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Percent-encodes a query parameter value.
    static func query(_ text: String) -> String {
        text.utf8.map { byte -> String in
            let character = Character(UnicodeScalar(byte))
            if character.isLetter && byte < 128 || character.isNumber && byte < 128 || "-._~".contains(character) {
                return String(character)
            }
            return "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
        }.joined()
    }

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
        header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
        header a{color:#cfd8e3;text-decoration:none}header form{margin-left:auto}
        main{padding:16px 24px;max-width:1200px}h1{font-size:20px}h2{font-size:16px;margin-top:24px}
        table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 8px;border-bottom:1px solid #e3e6ea;text-align:left}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        .cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;padding:12px 16px;border-radius:6px;min-width:150px}
        .card b{display:block;font-size:22px}.good{color:#1a7f37}.fair{color:#9a6700}.poor{color:#cf222e}
        .warn{background:#fff8c5;padding:8px 12px;border-radius:6px;margin:8px 0}
        .empty{background:#fff;padding:24px;border-radius:6px;color:#57606a}
        table.logs td.time{white-space:nowrap;font-variant-numeric:tabular-nums}table.logs td.message{word-break:break-word}
        tr.level-warn td:nth-child(2){color:#9a6700}tr.level-error td:nth-child(2),tr.level-fatal td:nth-child(2){color:#cf222e;font-weight:600}
        .warning{color:#9a6700}
        nav.range{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:8px 0}nav.range a.on{font-weight:bold}
        nav.range form{margin-left:12px}nav.range form.on input{border:2px solid #0969da}.shown{color:#57606a}
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
        .chart{background:#fff;border-radius:6px;padding:8px;min-width:0}.chart h3{margin:0 0 4px;font-size:13px}
        .chart-svg{max-width:100%;height:auto}
        .bar{background:#eaeef2;width:120px;height:10px;border-radius:2px}.bar div{background:#0969da;height:10px;border-radius:2px}
        td.stack .frames{max-height:320px;overflow:auto;font-size:12px}td.stack .frames ol{margin:4px 0;padding-left:24px}
        td.stack .frames li{white-space:nowrap}
        ul.callers{margin:2px 0 0;padding-left:16px;color:#57606a;font-size:12px}
        td.stack{max-width:0;width:55%}td.stack pre{max-height:320px;overflow:auto;white-space:pre;margin:4px 0}
        form.login{background:#fff;max-width:320px;margin:80px auto;padding:24px;border-radius:8px}
        form.login input{display:block;width:100%;margin:6px 0 12px;padding:6px;box-sizing:border-box}
        .error{color:#cf222e}.language{color:#57606a;background:#eaeef2;border-radius:4px;padding:0 4px}
        """

    /// The dashboard's icon: a response-time bar chart.
    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d2430"/>\
        <rect x="3" y="8" width="2" height="5" fill="#1a7f37"/><rect x="7" y="5" width="2" height="8" fill="#bf8700"/>\
        <rect x="11" y="3" width="2" height="10" fill="#cf222e"/></svg>
        """

    /// A whole page.
    static func page(title: String, user: String?, csrf: String?, body: String) -> String {
        var header = "<header><strong>swift-apm</strong>"
        if let user, let csrf {
            header += """
                <a href="/apps">Apps</a><a href="/hosts">Hosts</a><a href="/settings">Settings</a>\
                <form method="post" action="/logout"><input type="hidden" name="csrf" value="\(escape(csrf))">\
                <span>\(escape(user))</span> <button type="submit">Log out</button></form>
                """
        }
        header += "</header>"
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
            <link rel="icon" href="/favicon.svg" type="image/svg+xml">\
            <title>\(escape(title)) · swift-apm</title><style>\(style)</style></head>\
            <body>\(header)<main>\(body)</main></body></html>
            """
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
