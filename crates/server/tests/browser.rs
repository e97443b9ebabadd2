//! The web pages in a real browser: headless Chromium driven over WebDriver. Finance pays
//! a region and sees it turn paid; South West's lead records spend, sees the purpose's
//! remaining fall, finds no way to spend for London (and a crafted POST from the page is
//! refused 403 with nothing written); a bad amount, typed and submitted by keyboard alone,
//! brings the error summary; signing out leaves the pages refused. On every page axe-core
//! reports no WCAG 2.1 A/AA violation, every control is reached by Tab, and a screenshot at
//! 1280 and 375 px wide is saved under target/screenshots/.
//!
//! Without Chromium and chromedriver this prints one line and passes; under `CI=true`
//! (where .ci/run installs them) their absence fails the test.

mod common;
mod webdriver;

use std::io::Write;
use std::path::PathBuf;

use common::{Served, TestResult};
use serde_json::json;
use webdriver::{Browser, Driver, ENTER, TAB};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// axe-core's script, as .ci/run installs it (`GL_AXE_JS` names another copy).
fn axe_source() -> Result<String, String> {
    let path = std::env::var_os("GL_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/axe-core/node_modules/axe-core/axe.min.js"));
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "axe-core is not at {} ({e}); .ci/run installs it with npm",
            path.display()
        )
    })
}

struct Check<'a> {
    browser: &'a Browser,
    axe: &'a str,
    shots: PathBuf,
}

impl Check<'_> {
    /// axe on the page in view: no WCAG 2.1 A or AA violation.
    fn accessible(&self, page: &str) -> TestResult {
        self.browser.script(
            "if (!window.axe) { var s = document.createElement('script'); s.textContent = arguments[0]; document.head.appendChild(s); }",
            json!([self.axe]),
        )?;
        let found = self.browser.script_async(
            "var done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(function (r) { done(r.violations.map(function (v) {
                   return v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join('; ');
               })); })
               .catch(function (e) { done(['axe failed: ' + e]); });",
            json!([]),
        )?;
        let violations: Vec<String> = serde_json::from_value(found)?;
        assert!(violations.is_empty(), "{page}: axe found {violations:#?}");
        Ok(())
    }

    /// Tab reaches every visible link, field and button of the page, each with a visible
    /// focus style.
    fn keyboard(&self, page: &str) -> TestResult {
        let b = self.browser;
        let count = b
            .script(
                "var all = Array.from(document.querySelectorAll('a[href], input:not([type=hidden]), select, button, textarea'));
                 var shown = all.filter(function (e) { return e.getClientRects().length > 0 || e.classList.contains('skip-link'); });
                 shown.forEach(function (e) { e.setAttribute('data-needs-tab', ''); });
                 document.activeElement && document.activeElement.blur();
                 return shown.length;",
                json!([]),
            )?
            .as_u64()
            .unwrap_or(0);
        // Each element that takes focus marks itself, with whether its focus is visible;
        // then every Tab is pressed in one go.
        b.script(
            "document.addEventListener('focusin', function (ev) { var e = ev.target;
               if (e && e.hasAttribute('data-needs-tab')) {
                 var s = getComputedStyle(e);
                 var visible = s.outlineStyle !== 'none' || s.boxShadow !== 'none' || s.backgroundColor === 'rgb(255, 221, 0)';
                 e.setAttribute('data-needs-tab', visible ? 'reached' : 'no-focus-style'); } });",
            json!([]),
        )?;
        b.keys(&TAB.repeat(usize::try_from(count).unwrap_or(0) + 1))?;
        let missed = b.script(
            "return Array.from(document.querySelectorAll('[data-needs-tab]')).filter(function (e) { return e.getAttribute('data-needs-tab') !== 'reached'; })
               .map(function (e) { return e.outerHTML.slice(0, 80) + ' ' + e.getAttribute('data-needs-tab'); });",
            json!([]),
        )?;
        let missed: Vec<String> = serde_json::from_value(missed)?;
        assert!(
            missed.is_empty(),
            "{page}: not reached by Tab with a visible focus: {missed:#?}"
        );
        Ok(())
    }

    /// Screenshots at 1280 and 375 px wide.
    fn shoot(&self, name: &str) -> TestResult {
        for width in [1280, 375] {
            self.browser
                .screenshot(width, &self.shots.join(format!("{name}-{width}.png")))?;
        }
        Ok(())
    }

    /// All three on the page at `url`.
    fn page(&self, url: &str, name: &str) -> TestResult {
        self.browser.goto(url)?;
        self.accessible(name)?;
        self.keyboard(name)?;
        self.shoot(name)
    }
}

fn sign_in(b: &Browser, url: &str, token: &str) -> TestResult {
    b.goto(&format!("{url}/sign-in"))?;
    let field = b.find("#token")?;
    b.type_into(&field, token)?;
    b.click(&b.find("form[action='/sign-in'] button")?)?;
    b.wait_for("nav.navigation")?;
    Ok(())
}

fn sign_out(b: &Browser) -> TestResult {
    b.click(&b.find("form[action='/sign-out'] button")?)?;
    b.wait_for("#token")?;
    Ok(())
}

fn set_field(b: &Browser, css: &str, text: &str) -> TestResult {
    let e = b.find(css)?;
    b.clear(&e)?;
    b.type_into(&e, text)
}

fn choose(b: &Browser, select: &str, value: &str) -> TestResult {
    b.click(&b.find(&format!("{select} option[value='{value}']"))?)
}

fn remaining(b: &Browser, purpose: &str) -> TestResult<String> {
    b.text(&b.find(&format!("tr[data-purpose='{purpose}'] td.remaining"))?)
}

#[test]
fn the_pages_work_in_a_real_browser() -> TestResult {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Some((chromium, chromedriver)) = webdriver::find_browser() else {
        if ci {
            return Err(
                "CI=true but chromium and chromedriver are not installed (.ci/run installs them)"
                    .into(),
            );
        }
        // Written past the test harness's capture, so it is seen in a plain `cargo test`.
        let _ = writeln!(
            std::io::stderr(),
            "browser tests skipped: chromium and chromedriver are not installed"
        );
        return Ok(());
    };
    let axe = match axe_source() {
        Ok(a) => a,
        Err(e) if ci => return Err(e.into()),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "browser tests skipped: {e}");
            return Ok(());
        }
    };
    let served = Served::start(true)?;
    let driver = Driver::start(&chromedriver)?;
    let browser = Browser::start(&driver, &chromium)?;
    let check = Check {
        browser: &browser,
        axe: &axe,
        shots: workspace().join("target/screenshots"),
    };
    let url = served.url.clone();
    let b = &browser;

    // The sign-in page.
    check.page(&format!("{url}/sign-in"), "sign-in")?;

    // Finance pays London and sees it turn paid on the overview.
    sign_in(b, &url, &served.finance)?;
    let london = "tr:has(a[href^='/regions/london']) .tag";
    assert_eq!(b.text(&b.find(london)?)?, "Unpaid");
    check.page(
        &format!("{url}/payments/new?determination=31%2F7421&region=london"),
        "payment-form",
    )?;
    choose(b, "#region", "london")?;
    set_field(b, "#amount", "318000")?;
    set_field(b, "#date", "2024-08-20")?;
    b.click(&b.find("form[action='/payments/new'] button")?)?;
    let notice = b.wait_for(".notification")?;
    assert!(b.text(&notice)?.contains("The payment was recorded"));
    b.goto(&format!("{url}/"))?;
    assert_eq!(b.text(&b.find(london)?)?, "Paid");
    check.page(&format!("{url}/"), "overview")?;
    check.page(&format!("{url}/deadlines"), "deadlines")?;
    check.page(&format!("{url}/history"), "history")?;
    check.page(&format!("{url}/check"), "check")?;
    check.page(&format!("{url}/integrity"), "integrity")?;
    check.page(&format!("{url}/recoveries/new"), "recovery-form")?;
    check.page(&format!("{url}/reversals/new"), "reversal-form")?;
    sign_out(b)?;

    // South West's lead records spend and sees the purpose's remaining fall.
    sign_in(b, &url, &served.south_west)?;
    b.goto(&format!("{url}/regions/south-west"))?;
    let before = remaining(b, "data-coordinator")?;
    check.page(&format!("{url}/spends/new"), "spend-form")?;
    assert!(
        !b.source()?.contains("London"),
        "the spend form offers no other region"
    );
    choose(b, "#purpose", "data-coordinator")?;
    set_field(b, "#amount", "1200")?;
    set_field(b, "#date", "2024-10-01")?;
    b.click(&b.find("form[action='/spends/new'] button")?)?;
    b.wait_for(".notification")?;
    let after = remaining(b, "data-coordinator")?;
    let pounds = |t: &str| t.replace(['£', ','], "").parse::<f64>().unwrap_or(f64::NAN);
    assert_eq!(
        pounds(&before) - pounds(&after),
        1200.0,
        "{before} then {after}"
    );
    check.page(&format!("{url}/regions/south-west"), "region")?;
    check.page(&format!("{url}/spends/upload"), "upload-form")?;

    // No way to spend for London: no link, and a POST crafted from the page is refused.
    b.goto(&format!("{url}/regions/london"))?;
    assert!(
        !b.source()?.contains("Record spend for London"),
        "London's page offers no spend"
    );
    let events = served.events();
    let status = b.script_async(
        "var done = arguments[arguments.length - 1];
         var csrf = document.querySelector('input[name=csrf]').value;
         var body = new URLSearchParams({csrf: csrf, key: 'crafted', determination: '31/7421', region: 'London',
                                         purpose: 'data-coordinator', amount: '100', date: '2024-10-01'});
         fetch('/spends/new', {method: 'POST', body: body, redirect: 'manual'}).then(function (r) { done(r.status); });",
        json!([]),
    )?;
    assert_eq!(status, json!(403));
    assert_eq!(served.events(), events, "nothing was written");

    // A bad amount, by keyboard alone: Tab to the amount, type, Enter submits.
    b.goto(&format!("{url}/spends/new"))?;
    b.script(
        "document.activeElement && document.activeElement.blur();",
        json!([]),
    )?;
    let mut reached = false;
    for _ in 0..60 {
        b.keys(TAB)?;
        if b.script("return document.activeElement.id;", json!([]))? == json!("amount") {
            reached = true;
            break;
        }
    }
    assert!(reached, "the amount field is reached by Tab");
    b.keys("lots")?;
    b.keys(ENTER)?;
    let summary = b.wait_for(".error-summary")?;
    assert!(b.text(&summary)?.contains("is not an amount of pounds"));
    assert!(b.title()?.starts_with("Error:"));
    check.accessible("error-summary")?;
    check.shoot("error-summary")?;
    assert_eq!(served.events(), events, "nothing was written");

    // Signing out leaves the pages refused.
    sign_out(b)?;
    b.goto(&format!("{url}/regions/south-west"))?;
    assert!(b.url()?.ends_with("/sign-in"), "sent to sign in");
    Ok(())
}
