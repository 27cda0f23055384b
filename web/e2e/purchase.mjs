// The reference web client in a real browser (Debian's Chromium driven by playwright-core),
// against a deployment the Go test tests/web_browser_test.go starts: boxoffice instances
// behind nginx over HTTPS, PostgreSQL, Redis and the demo catalogue.
//
//   A (a browser context) signs up, holds two seats chosen with the keyboard, sees the
//     countdown, pays with the test provider and sees the tickets; the session survives a
//     reload in __Host- cookies; a page of another origin cannot use those cookies; A cancels
//     the order from "My orders", revokes a second device and signs out.
//   B (another context, anonymous) watches the same seat map, never reloading, and sees the
//     seats turn held, sold and available again, through the live stream.
//
// Environment: BOXOFFICE_URL (the origin, e.g. https://127.0.0.1:8443), SCREENING_ID and
// MOVIE_ID (a screening far enough ahead to be cancellable, in a hall with seats D5, D6, D10,
// E7 and E8), FOREIGN_URL (a page of another origin on the same host; optional, skips that
// check), SCREENSHOT_DIR (optional), CHROMIUM (default /usr/bin/chromium),
// STEP_TIMEOUT_MS (each wait for the page; default 30000). Exits 0 when every check passed.
import { chromium } from "playwright-core";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const base = env("BOXOFFICE_URL").replace(/\/$/, "");
const screeningId = env("SCREENING_ID");
const movieId = env("MOVIE_ID");
const foreign = process.env.FOREIGN_URL || "";
const shots = process.env.SCREENSHOT_DIR || "";
const timeout = Number(env("STEP_TIMEOUT_MS", "30000"));
const secure = base.startsWith("https:");
const [seat1, seat2, otherSeat, extra1, extra2] = ["D5", "D6", "D10", "E7", "E8"];

const started = Date.now();
async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
  } catch (e) {
    e.message = `step "${name}": ${e.message}`;
    throw e;
  }
  console.log(`ok   ${name} (${Date.now() - t} ms)`);
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const seat = (page, id) => page.locator(`[data-seat="${id}"]`);
/** Waits until every seat has the status (and, with mine, is or is not the user's). */
async function seatsAre(page, status, ids, mine) {
  for (const id of ids) {
    const sel = `[data-seat="${id}"][data-status="${status}"]` + (mine === undefined ? "" : mine ? '[data-mine="true"]' : ":not([data-mine])");
    await page.locator(sel).waitFor({ timeout });
  }
}
async function signedIn(page, yes) {
  await page.locator(`body[data-auth="${yes ? "in" : "out"}"]`).waitFor({ timeout });
}
/** The session cookies this browser context holds for the API's host (whatever their path). */
async function sessionCookies(ctx) {
  const host = new URL(base).hostname;
  return (await ctx.cookies()).filter((c) => c.domain === host && /bx_(at|rt|csrf)$/.test(c.name));
}

// Uncaught errors and CSP violations on the client's pages fail the run.
const problems = [];
function watch(page, who) {
  page.on("pageerror", (e) => problems.push(`${who}: uncaught ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${who}: ${m.text()}`);
  });
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  timeout: 120_000,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  const options = { ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: "en-GB" };
  const ctxA = await browser.newContext(options);
  const ctxB = await browser.newContext(options);
  for (const c of [ctxA, ctxB]) c.setDefaultTimeout(timeout);
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  watch(a, "A");
  watch(b, "B");
  const user = `web${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const password = "correct horse battery";

  await step("B (anonymous) opens the seat map and follows it live", async () => {
    await b.goto(`${base}/#/screening/${screeningId}`);
    await seat(b, seat1).waitFor();
    await b.locator('.live[data-live="open"]').waitFor();
    await seatsAre(b, "available", [seat1, seat2, otherSeat]);
    await b.locator(".legend").waitFor();
    await b.evaluate(() => { window.notReloaded = true; }); // gone if the page is ever reloaded
  });

  await step("A signs up and is signed in", async () => {
    await a.goto(`${base}/`);
    await a.locator("#signin-link").click();
    await a.getByLabel("Username (3 to 32").fill(user);
    await a.getByLabel("Display name").fill("Web Tester");
    await a.getByLabel("Password (at least 8").fill(password);
    await a.getByRole("button", { name: "Create account and sign in" }).click();
    await signedIn(a, true);
    check((await a.locator("#whoami").textContent()).includes("Web Tester"), "the header does not name the user");
  });

  await step("the session is in __Host- cookies: HttpOnly, Secure, SameSite=Strict", async () => {
    const cookies = await sessionCookies(ctxA);
    const byName = Object.fromEntries(cookies.map((c) => [c.name, c]));
    const [at, rt, cs] = secure ? ["__Host-bx_at", "__Secure-bx_rt", "__Host-bx_csrf"] : ["bx_at", "bx_rt", "bx_csrf"];
    check(byName[at] && byName[rt] && byName[cs], `cookies ${cookies.map((c) => c.name)}`);
    for (const c of [byName[at], byName[rt], byName[cs]]) {
      check(c.secure === secure && c.sameSite === "Strict" && !c.domain.startsWith("."), `cookie ${c.name}: ${JSON.stringify(c)}`);
    }
    check(byName[at].httpOnly && byName[rt].httpOnly && !byName[cs].httpOnly, "HttpOnly flags");
    check(byName[at].path === "/" && byName[cs].path === "/" && byName[rt].path === "/v1/auth/refresh", "cookie paths");
    check(!(await a.evaluate(() => document.cookie)).includes("bx_at"), "the page can read the access token");
  });

  await step("A reloads and is still signed in", async () => {
    await a.reload();
    await signedIn(a, true);
  });

  await step("A finds the screening through the film's page", async () => {
    await a.locator(`a[href="#/movie/${movieId}"]`).click();
    await a.locator(`a[data-screening="${screeningId}"]`).click();
    await seat(a, seat1).waitFor();
    await a.locator('.live[data-live="open"]').waitFor();
    const label = await seat(a, seat1).getAttribute("aria-label");
    check(/^Row D seat 5, \w+, available$/.test(label), `aria-label of ${seat1}: ${label}`);
  });

  await step("A selects two seats with the keyboard", async () => {
    await seat(a, seat1).focus();
    await a.keyboard.press("Space");
    await a.keyboard.press("ArrowRight");
    check(await a.evaluate(() => document.activeElement?.getAttribute("data-seat")) === seat2, "ArrowRight did not move to the next seat");
    await a.keyboard.press("Enter");
    await a.locator(`[data-seat="${seat1}"][aria-pressed="true"]`).waitFor();
    await a.locator(`[data-seat="${seat2}"][aria-pressed="true"]`).waitFor();
    check((await a.locator("#selected-seats").textContent()).includes(`${seat1}, ${seat2}`), "the selection panel");
  });

  await step("A holds them and the countdown runs", async () => {
    await a.locator("#hold-button").click();
    const countdown = a.locator("#countdown");
    await countdown.waitFor();
    const first = await countdown.textContent();
    check(/^\d+:\d\d$/.test(first), `countdown shows ${first}`);
    await a.waitForFunction((t) => document.getElementById("countdown")?.textContent !== t, first, { timeout });
    await seatsAre(a, "held", [seat1, seat2], true);
    check((await seat(a, seat1).getAttribute("aria-label")).endsWith("held by you"), "own seats are not labelled as held by you");
  });

  await step("B sees the seats held, without reloading", async () => {
    await seatsAre(b, "held", [seat1, seat2], false);
    check((await seat(b, seat1).getAttribute("aria-disabled")) === "true", "B can select a held seat");
  });

  if (foreign) {
    await step("a page of another origin cannot use A's cookies", async () => {
      const evil = await ctxA.newPage();
      await evil.goto(foreign);
      const r = await evil.evaluate(async ({ api, screening, seatId }) => {
        const attempt = async (path, init) => {
          try {
            const resp = await fetch(api + path, { credentials: "include", ...init });
            return { read: true, status: resp.status };
          } catch (e) {
            return { read: false, error: String(e) };
          }
        };
        const token = (document.cookie.match(/bx_csrf=([^;]+)/) || [])[1] || "";
        return {
          sameHostCookieVisible: token !== "",
          // "Simple" requests (no preflight): the browser sends them, with the cookies.
          logout: await attempt("/v1/auth/logout", { method: "POST" }),
          hold: await attempt(`/v1/screenings/${screening}/holds`, {
            method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ seat_ids: [seatId] }),
          }),
          // With the CSRF token (cookies are shared by every port of a host): needs a preflight, refused.
          holdWithToken: await attempt(`/v1/screenings/${screening}/holds`, {
            method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": token }, body: JSON.stringify({ seat_ids: [seatId] }),
          }),
        };
      }, { api: base, screening: screeningId, seatId: otherSeat });
      console.log(`     foreign page: ${JSON.stringify(r)}`);
      check(!r.logout.read && !r.hold.read && !r.holdWithToken.read, "the foreign page could read an answer of the API");
      await evil.close();
      // Nothing happened on the server: A is still signed in and holding, the seat is free.
      const state = await a.evaluate(async ({ screening, seatId }) => {
        const me = await fetch("/v1/me");
        const map = await (await fetch(`/v1/screenings/${screening}/seats`)).json();
        return { me: me.status, seat: map.seats.find((s) => s.id === seatId)?.status };
      }, { screening: screeningId, seatId: otherSeat });
      check(state.me === 200 && state.seat === "available", `after the foreign requests: ${JSON.stringify(state)}`);
      await seatsAre(a, "held", [seat1, seat2], true);
      await seatsAre(b, "held", [seat1, seat2], false);
      console.log("FOREIGN-REFUSED");
    });
  }

  await step("A pays with the test provider and sees two tickets", async () => {
    await a.getByLabel("Payment").selectOption("test_success");
    await a.locator("#pay-button").click();
    await a.locator("#order .ticket").nth(1).waitFor();
    const codes = await a.locator("#order .ticket .code").allTextContents();
    check(codes.length === 2 && codes.every((c) => /^[A-Z2-7]{26}$/.test(c)), `ticket codes ${codes}`);
    await seatsAre(a, "sold", [seat1, seat2]);
  });

  await step("B sees the seats sold", async () => {
    await seatsAre(b, "sold", [seat1, seat2]);
  });

  await step("A holds two more seats by clicking (for the screenshots)", async () => {
    await seat(a, extra1).click();
    await seat(a, extra2).click();
    await a.locator("#hold-button").click();
    await seatsAre(a, "held", [extra1, extra2], true);
    await seatsAre(b, "held", [extra1, extra2], false);
  });

  await step("screenshots: desktop, and a 375x667 phone without horizontal page scroll", async () => {
    if (shots) await mkdir(shots, { recursive: true });
    await a.locator("#countdown").waitFor();
    if (shots) await a.screenshot({ path: join(shots, "web-seat-map.png"), fullPage: true });
    await a.setViewportSize({ width: 375, height: 667 });
    await a.waitForFunction(() => window.innerWidth === 375);
    const widths = await a.evaluate(() => ({
      page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
      map: document.querySelector(".seat-scroll").clientWidth,
    }));
    check(widths.page <= widths.view, `the page scrolls sideways on a phone: ${JSON.stringify(widths)}`);
    check(widths.map <= widths.view, `the seat map box is wider than the phone: ${JSON.stringify(widths)}`);
    if (shots) await a.screenshot({ path: join(shots, "web-seat-map-phone.png") });
    await a.setViewportSize(options.viewport);
  });

  await step("A reloads: the hold and its countdown are still there", async () => {
    await a.reload();
    await seatsAre(a, "held", [extra1, extra2], true);
    const left = await a.locator("#countdown").textContent(); // from the hold's expires_in_seconds, read again
    check(/^\d+:\d\d$/.test(left) && left !== "0:00", `countdown after a reload: ${left}`);
    await a.locator('.live[data-live="open"]').waitFor();
  });

  await step("A releases them; B sees them available", async () => {
    await a.getByRole("button", { name: "Release seats" }).click();
    await seatsAre(a, "available", [extra1, extra2]);
    await seatsAre(b, "available", [extra1, extra2]);
  });

  await step("A cancels the order from My orders; B sees the seats available", async () => {
    await a.getByRole("link", { name: "My orders", exact: true }).click();
    const order = a.locator('[data-order][data-status="confirmed"]');
    await order.waitFor();
    await order.getByRole("button", { name: "Cancel order" }).click();
    await a.locator('[data-order][data-status="cancelled"]').waitFor();
    check(await a.locator('[data-order][data-status="cancelled"] .ticket[data-status="void"]').count() === 2, "tickets not void");
    await seatsAre(b, "available", [seat1, seat2]);
  });

  await step("A sees a second device in My devices and signs it out", async () => {
    const ctxC = await browser.newContext(options);
    const c = await ctxC.newPage();
    watch(c, "C");
    await c.goto(`${base}/#/signin`);
    await c.locator("#signin-username").fill(user);
    await c.locator("#signin-password").fill("not the password");
    await c.getByRole("button", { name: "Sign in", exact: true }).click();
    const notice = c.locator('#notice[data-kind="error"]');
    await notice.waitFor();
    const text = await notice.textContent(); // the problem's title and detail
    check(text.includes("Invalid credentials") && text.includes("The username or password is incorrect."), `error shown: ${text}`);
    await c.locator("#signin-password").fill(password);
    await c.getByRole("button", { name: "Sign in", exact: true }).click();
    await signedIn(c, true);
    await a.getByRole("link", { name: "My devices", exact: true }).click();
    await a.locator("[data-session]").nth(1).waitFor();
    check(await a.locator("[data-session]").count() === 2, "My devices does not list both sessions");
    check(await a.locator('[data-session][data-current="true"]').count() === 1, "the current device is not marked");
    await a.locator("[data-session]:not([data-current])").getByRole("button", { name: "Sign out this device" }).click();
    await a.locator("[data-session]").nth(1).waitFor({ state: "detached" });
    await c.reload();
    await signedIn(c, false);
    await ctxC.close();
  });

  await step("A signs out: the cookies are gone, a reload stays signed out", async () => {
    await a.locator("#logout").click();
    await signedIn(a, false);
    check((await sessionCookies(ctxA)).length === 0, `cookies left: ${(await sessionCookies(ctxA)).map((c) => c.name)}`);
    await a.reload();
    await signedIn(a, false);
    await a.locator("#signin-link").waitFor();
  });

  check(await b.evaluate(() => window.notReloaded === true), "B's page was reloaded");
  check(problems.length === 0, `errors on the pages:\n${problems.join("\n")}`);
  console.log(`PASS in ${Date.now() - started} ms`);
} catch (e) {
  failed = true;
  console.error(`FAIL after ${Date.now() - started} ms: ${e.stack || e}`);
  if (problems.length) console.error(`errors on the pages:\n${problems.join("\n")}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
