//! One sample log per format, written here: fields of the good lines, and
//! the malformed lines refused, never a panic.

use tally_logimport::{LineParser, LogFormat, LogTimeZone, Parsed, detect};

/// Parses every line; returns the good ones' (ip, path, status, ua, host,
/// unix time) and the line numbers of the invalid ones.
type Row = (String, String, u16, Option<String>, Option<String>, i64);

fn run(format: &LogFormat, text: &str) -> anyhow::Result<(Vec<Row>, Vec<usize>)> {
    let mut parser = LineParser::new(format, None)?;
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parser.parse(line.as_bytes()) {
            Parsed::Line(l) => good.push((
                l.ip.to_string(),
                match &l.query {
                    Some(q) if !q.is_empty() => format!("{}?{q}", l.path),
                    _ => l.path.to_string(),
                },
                l.status,
                l.user_agent.map(|u| u.to_string()),
                l.host.map(|h| h.to_string()),
                l.time.unix(&LogTimeZone::Utc),
            )),
            Parsed::Skip => {}
            Parsed::Invalid(_) => bad.push(i + 1),
        }
    }
    Ok((good, bad))
}

fn detected(text: &str) -> Option<String> {
    let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
    detect(&lines).map(|f| f.name().to_owned())
}

/// 2012-02-10 21:42:07 UTC (16:42:07 -0500).
const T: i64 = 1_328_910_127;
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/535.11 (KHTML, like Gecko) Chrome/17.0.963.56 Safari/535.11";

#[test]
fn common() -> anyhow::Result<()> {
    let log = "1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] \"GET /a?b=1 HTTP/1.0\" 200 368\n\
               garbage line\n\
               1.2.3.4 - - [31/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\" 200 368\n\
               ::1 - - [10/Feb/2012:21:42:07 +0000] \"POST /p HTTP/1.1\" 404 -\n";
    let (good, bad) = run(&LogFormat::Common, log)?;
    assert_eq!(
        good[0],
        ("1.2.3.4".into(), "/a?b=1".into(), 200, None, None, T)
    );
    assert_eq!(good[1].0, "::1");
    assert_eq!(good[1].2, 404);
    assert_eq!(bad, vec![2, 3]);
    assert_eq!(detected(log).as_deref(), Some("common"));
    Ok(())
}

#[test]
fn common_vhost() -> anyhow::Result<()> {
    let log = "www.example.com:80 1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\" 301 368\n\
               www.example.com 1.2.3.4 - [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\" 301 368\n";
    let (good, bad) = run(&LogFormat::CommonVhost, log)?;
    assert_eq!(
        good,
        vec![(
            "1.2.3.4".into(),
            "/".into(),
            301,
            None,
            Some("www.example.com".into()),
            T
        )]
    );
    assert_eq!(bad, vec![2]);
    assert_eq!(detected(log).as_deref(), Some("common_vhost"));
    Ok(())
}

#[test]
fn combined() -> anyhow::Result<()> {
    let log = format!(
        "1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET /x.html HTTP/1.1\" 200 5 \"http://ref.example/\" \"{UA}\"\n\
         1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET /x.html HTTP/1.1\" 200 5 \"-\"\n\
         5.6.7.8 - - [10/Feb/2012:16:42:07 -0500] \"GET /y HTTP/1.1\" 200 5 \"-\" \"{UA}\" \"extra\" rt=0.1\n"
    );
    let (good, bad) = run(&LogFormat::Combined, &log)?;
    assert_eq!(good.len(), 2);
    assert_eq!(good[0].1, "/x.html");
    assert_eq!(good[0].3.as_deref(), Some(UA));
    assert_eq!(good[1].0, "5.6.7.8");
    assert_eq!(bad, vec![2]);
    assert_eq!(detected(&log).as_deref(), Some("ncsa_extended"));
    Ok(())
}

#[test]
fn common_complete_and_icecast() -> anyhow::Result<()> {
    let log = format!(
        "www.example.com 1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\" 301 368 \"-\" \"{UA}\"\n\
         www.example.com 1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\"\n"
    );
    let (good, bad) = run(&LogFormat::CommonComplete, &log)?;
    assert_eq!(good[0].4.as_deref(), Some("www.example.com"));
    assert_eq!(good[0].2, 301);
    assert_eq!(bad, vec![2]);
    assert_eq!(detected(&log).as_deref(), Some("common_complete"));

    let ice = format!(
        "1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\" 301 368 \"-\" \"{UA}\" 1807\n"
    );
    let (good, _) = run(&LogFormat::Icecast2, &ice)?;
    assert_eq!(good.len(), 1);
    assert_eq!(detected(&ice).as_deref(), Some("icecast2"));
    Ok(())
}

#[test]
fn ovh_and_gandi() -> anyhow::Result<()> {
    let ovh = format!(
        "1.2.3.4 www.example.com theuser [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.1\" 301 368 \"-\" \"{UA}\"\n"
    );
    let (good, _) = run(&LogFormat::Ovh, &ovh)?;
    assert_eq!(good[0].0, "1.2.3.4");
    assert_eq!(good[0].4.as_deref(), Some("www.example.com"));
    let gandi = format!(
        "www.example.com 1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] (0 s) \"GET / HTTP/1.1\" 301 368 \"-\" \"{UA}\"\n\
         www.example.com 1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    let mut parser = LineParser::new(&LogFormat::Gandi, None)?;
    let mut lines = gandi.lines();
    match parser.parse(lines.next().unwrap_or_default().as_bytes()) {
        Parsed::Line(l) => {
            assert_eq!(l.host.as_deref(), Some("www.example.com"));
            // `(0 s)` is no number to import_logs.py: no server time.
            assert_eq!(l.duration_ms, None);
            assert_eq!(l.userid.as_deref(), Some("theuser"));
        }
        other => anyhow::bail!("gandi line not parsed: {other:?}"),
    }
    assert!(matches!(
        parser.parse(lines.next().unwrap_or_default().as_bytes()),
        Parsed::Invalid(_)
    ));
    assert_eq!(detected(&gandi).as_deref(), Some("gandi"));
    Ok(())
}

#[test]
fn w3c_iis_and_netscaler() -> anyhow::Result<()> {
    let iis = "#Software: Microsoft Internet Information Services 6.0\n\
               #Version: 1.0\n\
               #Fields: date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes time-taken\n\
               2012-04-01 00:00:13 W3SVC1 5.6.7.8 GET /foo/bar topCat1=divinity 80 theuser 1.2.3.4 HTTP/1.1 Mozilla/5.0+(X11) - example.com 200 0 0 654 1687\n\
               2012-04-01 00:00:13 W3SVC1 5.6.7.8 GET\n\
               2012-02-30 00:00:13 W3SVC1 5.6.7.8 GET /x - 80 - 1.2.3.4 HTTP/1.1 UA - example.com 200 0 0 654 1687\n";
    assert_eq!(detected(iis).as_deref(), Some("iis"));
    let mut parser = LineParser::new(&LogFormat::Iis, None)?;
    let mut got = Vec::new();
    for l in iis.lines() {
        got.push(match parser.parse(l.as_bytes()) {
            Parsed::Line(l) => format!(
                "{} {}?{} {} {:?} {:?} {:?}",
                l.ip,
                l.path,
                l.query.as_deref().unwrap_or(""),
                l.status,
                l.host.as_deref(),
                l.userid.as_deref(),
                l.duration_ms
            ),
            Parsed::Skip => "skip".into(),
            Parsed::Invalid(i) => i.describe().into(),
        });
    }
    assert_eq!(
        got,
        vec![
            "skip",
            "skip",
            "skip",
            "1.2.3.4 /foo/bar?topCat1=divinity 200 Some(\"example.com\") Some(\"theuser\") Some(1687.0)",
            "line does not match the log format",
            "invalid date or time",
        ]
    );
    let netscaler = "#Software: Netscaler Web Logging(NSWL)\n\
        #Fields: date time c-ip cs-username sc-servicename s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status cs-bytes sc-bytes time-taken cs-version cs(User-Agent) cs(Cookie) cs(Referer)\n\
        2012-08-16 11:55:13 172.20.1.0 - HTTP 192.168.6.254 8080 GET /Citrix/login.jsp - 302 247 355 1 HTTP/1.1 Mozilla/4.0+(compatible) - -\n";
    assert_eq!(detected(netscaler).as_deref(), Some("w3c_extended"));
    let (good, bad) = run(&LogFormat::W3cExtended, netscaler)?;
    assert_eq!(good[0].1, "/Citrix/login.jsp");
    assert_eq!(good[0].2, 302);
    assert!(bad.is_empty());
    // Data before any #Fields: line is invalid.
    let (good, bad) = run(
        &LogFormat::W3cExtended,
        "2012-08-16 11:55:13 1.2.3.4 GET /\n",
    )?;
    assert!(good.is_empty());
    assert_eq!(bad, vec![1]);
    Ok(())
}

#[test]
fn cloudfront_incapsula_shoutcast() -> anyhow::Result<()> {
    let cf = "#Version: 1.0\n\
        #Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken\n\
        2014-05-23\t01:13:11\tFRA2\t182\t192.0.2.10\tGET\td1.cloudfront.net\t/view/my/file.html\t200\thttps://example.com/\tMozilla/5.0%2520(Windows)\t-\t-\tMiss\tabc==\texample.com\thttps\t217\t0.001\n";
    assert_eq!(detected(cf).as_deref(), Some("amazon_cloudfront"));
    let (good, _) = run(&LogFormat::AmazonCloudFront, cf)?;
    assert_eq!(good[0].3.as_deref(), Some("Mozilla/5.0 (Windows)"));
    assert_eq!(good[0].4.as_deref(), Some("example.com"));

    let inc = "#Software: Incapsula LOGS API\n\
        #Fields: date time cs-vid c-ip cs(User-Agent) cs-uri cs(Referrer) cs-method cs-uri-query sc-status cs-bytes\n\
        \"2017-06-28\" \"07:26:35\" \"a1\" \"123.123.123.123\" \"Mozilla/5.0 (Windows NT 6.1)\" \"www.example.com/page.php\" \"\" \"GET\" \"variable=test\" \"200\" \"10117\"\n";
    assert_eq!(detected(inc).as_deref(), Some("incapsula_w3c"));
    let (good, _) = run(&LogFormat::IncapsulaW3c, inc)?;
    assert_eq!(good[0].1, "/page.php?variable=test");
    assert_eq!(good[0].4.as_deref(), Some("www.example.com"));

    let sc = "#Software: SHOUTcast\n\
        #Fields: c-ip c-dns date time cs-uri-stem c-status cs(User-Agent) sc-bytes x-duration avgbandwidth\n\
        1.2.3.4 5.6.7.8 2015-12-07 10:37:05 /stream?title=UKR%20Nights 200 NSPlayer%2F10.0 65580 1 524640\n";
    assert_eq!(detected(sc).as_deref(), Some("shoutcast"));
    let (good, _) = run(&LogFormat::Shoutcast, sc)?;
    assert_eq!(good[0].3.as_deref(), Some("NSPlayer/10.0"));
    Ok(())
}

#[test]
fn json_formats() -> anyhow::Result<()> {
    let nginx = "{\"ip\": \"1.2.3.4\",\"host\": \"www.example.org\",\"path\": \"/a?b=\\x41\",\"status\": \"200\",\"referrer\": \"http://r.example/\",\"user_agent\": \"UA\",\"length\": 192,\"generation_time_milli\": 0.008,\"date\": \"2012-02-10T16:42:07-05:00\"}\n\
                 {\"ip\": \"1.2.3.4\", broken\n";
    assert_eq!(detected(nginx).as_deref(), Some("nginx_json"));
    let (good, bad) = run(&LogFormat::NginxJson, nginx)?;
    assert_eq!(
        good,
        vec![(
            "1.2.3.4".into(),
            "/a?b=A".into(),
            200,
            Some("UA".into()),
            Some("www.example.org".into()),
            T
        )]
    );
    assert_eq!(bad, vec![2]);

    let caddy = "{\"level\":\"info\",\"ts\":1328910127.81,\"msg\":\"handled request\",\"request\":{\"client_ip\":\"1.2.3.4\",\"method\":\"GET\",\"host\":\"example.com\",\"uri\":\"/beta/\",\"headers\":{\"User-Agent\":[\"Firefox\"]}},\"user_id\":\"\",\"duration\":0.0013,\"size\":3609,\"status\":200,\"resp_headers\":{}}\n";
    assert_eq!(detected(caddy).as_deref(), Some("caddy_json"));
    let (good, _) = run(&LogFormat::CaddyJson, caddy)?;
    assert_eq!(
        good,
        vec![(
            "1.2.3.4".into(),
            "/beta/".into(),
            200,
            Some("Firefox".into()),
            Some("example.com".into()),
            T
        )]
    );

    let traefik = "{\"ClientHost\": \"1.2.3.4\",\"ClientUsername\":\"-\",\"request_User-Agent\":\"Prometheus/2.40.5\",\"DownstreamContentSize\":15,\"DownstreamStatus\":\"200\",\"Duration\":10002425284,\"RequestHost\":\"localhost\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/my/app?id=1\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2012-02-10T21:42:07Z\"}\n";
    assert_eq!(detected(traefik).as_deref(), Some("traefik_json"));
    let mut p = LineParser::new(&LogFormat::TraefikJson, None)?;
    match p.parse(traefik.trim_end().as_bytes()) {
        Parsed::Line(l) => {
            assert_eq!(l.time.unix(&LogTimeZone::Utc), T);
            assert_eq!(l.userid, None);
            assert!(
                l.duration_ms
                    .is_some_and(|d| (d - 10_002.425_284).abs() < 1e-6)
            );
        }
        other => anyhow::bail!("traefik line not parsed: {other:?}"),
    }
    Ok(())
}

#[test]
fn amazon_and_haproxy() -> anyhow::Result<()> {
    let elb = format!(
        "2012-02-10T21:42:07.945958Z my-lb 1.2.3.4:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 \"GET https://www.example.com:443/path/index.html HTTP/1.1\" \"{UA}\" DHE-RSA-AES128-SHA TLSv1.2\n\
         2012-02-10T21:42:07.945958Z my-lb 1.2.3.4:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 \"- - - \" \"-\" - -\n\
         https 2012-02-10T21:42:07.127531Z app/my-alb/abc 1.2.3.4:2817 10.0.0.1:80 0.001 0.102 0.000 200 200 225 24950 \"GET https://www.example.com:443/alb HTTP/1.1\" \"{UA}\" ECDHE TLSv1.2\n"
    );
    assert_eq!(detected(&elb).as_deref(), Some("elb"));
    let (good, bad) = run(&LogFormat::Elb, &elb)?;
    assert_eq!(
        good[0],
        (
            "1.2.3.4".into(),
            "/path/index.html".into(),
            200,
            Some(UA.into()),
            Some("www.example.com".into()),
            T
        )
    );
    assert_eq!(good[1].1, "/alb");
    assert_eq!(bad, vec![2]);

    let s3 = format!(
        "b659b576cff1e15e4c0313ff8930fba9f53e6794567f5c60dab3abf2f8dfb6cc www.example.com [10/Feb/2012:16:42:07 -0500] 1.2.3.4 arn:aws:iam::1:user/x EB35 WEBSITE.GET.OBJECT index \"GET /index HTTP/1.1\" 200 - 368 368 10 9 \"-\" \"{UA}\"\n"
    );
    assert_eq!(detected(&s3).as_deref(), Some("s3"));
    let (good, _) = run(&LogFormat::S3, &s3)?;
    assert_eq!(
        good[0],
        (
            "1.2.3.4".into(),
            "/index".into(),
            200,
            Some(UA.into()),
            Some("www.example.com".into()),
            T
        )
    );

    let haproxy = "Feb 10 21:42:07 hostname haproxy[6801]: 4.3.2.1:55008 [10/Feb/2012:21:42:07.584] ft_https~ bk_https/abc 0/0/0/72/72 200 7456 - - ---- 5/4/0/1/0 0/0 \"POST /user/ HTTP/1.1\"\n\
                   Feb 10 21:42:07 hostname haproxy[6801]: Proxy started.\n";
    assert_eq!(detected(haproxy).as_deref(), Some("haproxy"));
    let (good, bad) = run(&LogFormat::HaProxy, haproxy)?;
    assert_eq!(
        good,
        vec![("4.3.2.1".into(), "/user/".into(), 200, None, None, T)]
    );
    assert_eq!(bad, vec![2]);
    Ok(())
}

#[test]
fn user_regex_with_date_format() -> anyhow::Result<()> {
    let regex = tally_logimport::UserRegex::new(
        r"^(?P<ip>\S+) (?P<date>\d{4}/\d\d/\d\d) (?P<time>\d\d:\d\d:\d\d) (?P<host>\S+) (?P<path>\S+) (?P<status>\d+)",
        Some("%Y/%m/%d %H:%M:%S"),
    )?;
    let log = "1.2.3.4 2012/02/10 21:42:07 www.example.org /x?y=1 200\n\
               1.2.3.4 2012/02/30 21:42:07 www.example.org /x 200\n\
               nope\n";
    let (good, bad) = run(&LogFormat::Regex(regex), log)?;
    assert_eq!(
        good,
        vec![(
            "1.2.3.4".into(),
            "/x?y=1".into(),
            200,
            None,
            Some("www.example.org".into()),
            T
        )]
    );
    assert_eq!(bad, vec![2, 3]);
    assert!(tally_logimport::UserRegex::new(r"(?P<ip>\S+)", None).is_err());
    Ok(())
}

#[test]
fn binary_garbage_never_panics() -> anyhow::Result<()> {
    let formats = [
        LogFormat::Common,
        LogFormat::Combined,
        LogFormat::CommonComplete,
        LogFormat::Gandi,
        LogFormat::Iis,
        LogFormat::NginxJson,
        LogFormat::CaddyJson,
        LogFormat::TraefikJson,
        LogFormat::Elb,
        LogFormat::S3,
        LogFormat::HaProxy,
    ];
    // A deterministic byte soup, plus truncations of a good line.
    let good =
        format!("1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.1\" 200 5 \"-\" \"{UA}\"");
    let mut inputs: Vec<Vec<u8>> = (0..good.len())
        .map(|n| good.as_bytes()[..n].to_vec())
        .collect();
    let mut x: u32 = 12_345;
    for _ in 0..200 {
        let line: Vec<u8> = (0..(x % 300))
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect();
        inputs.push(line);
    }
    for f in &formats {
        let mut p = LineParser::new(f, Some("date time c-ip cs-uri-stem sc-status"))?;
        for input in &inputs {
            let _ = p.parse(input);
        }
    }
    Ok(())
}
