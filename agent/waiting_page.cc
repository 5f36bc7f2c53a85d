#include "agent/waiting_page.h"

#include <charconv>
#include <utility>

#include "common/page_text.h"

namespace anteroom::agent {
namespace {

// Mobile first: one column, a card that grows to 34rem on wider screens; light and dark
// schemes. Text contrast is at least 7.6:1 (the button's 6.7:1; WCAG AA asks 4.5:1), the bar's
// fill against its track 5.2:1, and the percentage is also shown as text, so nothing relies
// on colour alone.
constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--bg:#eef1f5;--card:#fff;--fg:#161a22;--muted:#485063;--line:#d9dee7;--accent:#1d4ed8;--track:#dfe4ec;--tint:#f7f9fc;--ok:#0f7b3f}
@media (prefers-color-scheme:dark){:root{--bg:#0f1217;--card:#1a1f28;--fg:#eef1f6;--muted:#b4bccb;--line:#323a48;--accent:#8db4ff;--track:#323a48;--tint:#1f2530;--ok:#5fd39a}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;min-height:100dvh;display:flex;align-items:center;justify-content:center;padding:1rem;background:var(--bg);color:var(--fg);font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{width:100%;max-width:34rem;background:var(--card);border:1px solid var(--line);border-radius:1rem;padding:1.5rem;box-shadow:0 1px 2px rgba(16,24,40,.06),0 12px 32px rgba(16,24,40,.08);overflow-wrap:anywhere}
.site{margin:0 0 .35rem;font-size:.8125rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}
h1{margin:0 0 .5rem;font-size:1.5rem;line-height:1.25;letter-spacing:-.01em}
p{margin:0 0 1rem}
.lead{color:var(--muted)}
.when{font-size:1.125rem;font-weight:600}
dl{display:grid;grid-template-columns:1fr;gap:.75rem;margin:1.5rem 0}
dl div{background:var(--tint);border:1px solid var(--line);border-radius:.75rem;padding:.75rem 1rem}
dt{font-size:.875rem;color:var(--muted)}
dd{margin:0;font-size:1.25rem;font-weight:700}
#aq-pos{font-size:2rem;line-height:1.2;font-variant-numeric:tabular-nums}
.bar{margin:0 0 1.25rem}
.bar div{display:flex;justify-content:space-between;font-size:.875rem;color:var(--muted);margin-bottom:.35rem}
.bar div span:last-child{font-variant-numeric:tabular-nums;font-weight:600;color:var(--fg)}
progress{display:block;width:100%;height:.75rem;border:0;border-radius:1rem;background:var(--track);color:var(--accent);overflow:hidden;-webkit-appearance:none;appearance:none}
progress::-webkit-progress-bar{background:var(--track);border-radius:1rem}
progress::-webkit-progress-value{background:var(--accent);border-radius:1rem;transition:width .6s ease}
progress::-moz-progress-bar{background:var(--accent);border-radius:1rem}
.note{display:flex;gap:.5rem;align-items:baseline;margin:0;font-size:.875rem;color:var(--muted)}
.dot{flex:none;width:.5rem;height:.5rem;border-radius:50%;background:var(--ok);animation:pulse 2s ease-in-out infinite}
@keyframes pulse{50%{opacity:.35}}
noscript p{margin:.75rem 0 0;font-size:.875rem;color:var(--muted)}
.button{display:inline-block;margin-top:.5rem;padding:.6rem 1.1rem;border-radius:.6rem;background:var(--accent);color:var(--card);font-weight:600;text-decoration:none}
a:focus-visible{outline:3px solid var(--accent);outline-offset:3px}
@media (min-width:36em){main{padding:2.5rem}h1{font-size:1.875rem}dl{grid-template-columns:1fr 1fr}}
@media (prefers-reduced-motion:reduce){.dot{animation:none}progress::-webkit-progress-value{transition:none}}
)css";

// Polls the status endpoint and updates the page in place; reloads when the user's turn has
// come (or the page's phase changed), after repeated failures, or when the watchdog finds
// the loop stalled, so the page can never get stuck. The ETA rules repeat AppendHumanEta.
constexpr std::string_view kScript = R"js(
(function(){
var m=document.getElementById("aq"),d=m.dataset,w=+d.refresh||20,fails=0,dog;
function $(i){return document.getElementById(i)}
function reload(){location.reload()}
function put(i,v){var e=$(i);if(e&&e.textContent!==v)e.textContent=v}
function eta(s){if(typeof s!=="number"||s<0)return d.etaUnknown;if(s<60)return d.etaLess;
var n=Math.round(s/60),one=d.etaM1,many=d.etaM;if(n>=60){n=Math.round(n/60);one=d.etaH1;many=d.etaH}
return n===1?one:many.replace("{n}",n)}
function next(s){s=Math.min(Math.max(+s||w,1),300);clearTimeout(dog);
dog=setTimeout(reload,Math.max(3*s,30)*1000);setTimeout(poll,s*1000)}
function poll(){fetch(d.url,{headers:{Accept:"application/json"},credentials:"same-origin",cache:"no-store"})
.then(function(r){if(!r.ok)throw r.status;return r.json()})
.then(function(j){if(j.status!=="queued"||String(!!j.prequeue)!==d.prequeue){reload();return}
fails=0;put("aq-pos",j.position>0?String(j.position):"\u2014");put("aq-eta",eta(j.eta_seconds));
if(typeof j.progress==="number"){var p=Math.max(0,Math.min(99,Math.round(j.progress*100))),b=$("aq-bar");
if(b){b.value=p;b.textContent=p+"%"}put("aq-pct",p+"%")}next(j.refresh_after_seconds)})
.catch(function(){if(++fails>2)reload();else next(w)})}
var t=document.querySelector("time[datetime]");
if(t&&window.Intl)try{t.textContent=new Intl.DateTimeFormat(document.documentElement.lang,
{dateStyle:"long",timeStyle:"short"}).format(new Date(t.getAttribute("datetime")))}catch(e){}
if(window.fetch)next(w);else setTimeout(reload,w*1000)})();
)js";

void AppendInt(int64_t value, std::string* out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, result.ptr);
}

void AppendAttribute(std::string_view name, std::string_view value, std::string* out) {
  out->append(" ");
  out->append(name);
  out->append("=\"");
  AppendHtmlEscaped(value, out);
  out->append("\"");
}

// <!doctype> through <body>. A meta refresh after `refresh_seconds` unless 0; with
// `noscript_refresh` it applies only without JavaScript (the script polls instead).
void AppendHead(const PageText& text, std::string_view heading, std::string_view title,
                int64_t refresh_seconds, bool noscript_refresh, std::string* out) {
  out->append("<!doctype html>\n<html lang=\"");
  out->append(text.code);
  out->append(
      "\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
      "<meta name=\"robots\" content=\"noindex\">\n"
      // An empty icon: otherwise the browser asks for /favicon.ico, which the waiting room
      // would count as one more waiting request.
      "<link rel=\"icon\" href=\"data:,\">\n");
  if (refresh_seconds > 0) {
    if (noscript_refresh) out->append("<noscript>");
    out->append("<meta http-equiv=\"refresh\" content=\"");
    AppendInt(refresh_seconds, out);
    out->append("\">");
    if (noscript_refresh) out->append("</noscript>");
    out->append("\n");
  }
  out->append("<title>");
  out->append(heading);
  out->append(" · ");
  AppendHtmlEscaped(title, out);
  out->append("</title>\n<style>");
  out->append(kStyle);
  out->append("</style>\n</head>\n<body>\n");
}

// The room's name above the page's one heading.
void AppendHeading(std::string_view title, std::string_view heading, std::string* out) {
  out->append("<p class=\"site\">");
  AppendHtmlEscaped(title, out);
  out->append("</p>\n<h1>");
  out->append(heading);
  out->append("</h1>\n");
}

void AppendLead(std::string_view lead, std::string* out) {
  out->append("<p class=\"lead\">");
  out->append(lead);
  out->append("</p>\n");
}

std::string BuiltInQueuePage(const PageModel& model, const PageText& text, std::string_view title) {
  const int64_t refresh = RefreshSeconds(model);
  std::string out;
  out.reserve(10 * 1024);

  if (model.status == "admitted") {
    // The turn came while this page was being made: go straight on.
    AppendHead(text, text.admitted_heading, title, 1, /*noscript_refresh=*/false, &out);
    out.append("<main>\n");
    AppendHeading(title, text.admitted_heading, &out);
    AppendLead(text.admitted_lead, &out);
    out.append("<a class=\"button\" href=\"\">");
    out.append(text.continue_link);
    out.append("</a>\n</main>\n</body>\n</html>\n");
    return out;
  }

  const std::string_view heading = model.prequeue ? text.prequeue_heading : text.queued_heading;
  AppendHead(text, heading, title, refresh, /*noscript_refresh=*/true, &out);
  out.append("<main id=\"aq\"");
  AppendAttribute("data-url", model.status_url, &out);
  out.append(" data-refresh=\"");
  AppendInt(refresh, &out);
  out.append(model.prequeue ? "\" data-prequeue=\"true\"" : "\" data-prequeue=\"false\"");
  AppendAttribute("data-eta-less", text.eta_under_a_minute, &out);
  AppendAttribute("data-eta-m1", text.eta_one_minute, &out);
  AppendAttribute("data-eta-m", text.eta_minutes, &out);
  AppendAttribute("data-eta-h1", text.eta_one_hour, &out);
  AppendAttribute("data-eta-h", text.eta_hours, &out);
  AppendAttribute("data-eta-unknown", text.eta_unknown, &out);
  out.append(">\n");

  AppendHeading(title, heading, &out);
  if (model.prequeue && model.event_start_unix > 0) {
    // The start time first: it is what an early user came to learn. The script shows it in
    // the browser's time zone; UTC is the fallback.
    std::string when = "<time datetime=\"";
    AppendIsoUtc(model.event_start_unix, &when);
    when.append("\">");
    AppendReadableUtc(model.event_start_unix, &when);
    when.append("</time>");
    out.append("<p class=\"when\">");
    AppendFilled(text.prequeue_start, "{time}", when, &out);
    out.append("</p>\n");
  }
  AppendLead(model.prequeue ? text.prequeue_lead : text.queued_lead, &out);

  // Position and estimate are announced together when they change.
  out.append("<dl aria-live=\"polite\" aria-atomic=\"true\">\n<div><dt>");
  out.append(text.position_label);
  out.append("</dt><dd id=\"aq-pos\">");
  AppendPosition(model.position, &out);
  out.append("</dd></div>\n<div><dt>");
  out.append(text.eta_label);
  out.append("</dt><dd id=\"aq-eta\">");
  AppendHumanEta(model.eta_seconds, text, &out);
  out.append("</dd></div>\n</dl>\n");

  if (!model.prequeue) {
    const int percent = ProgressPercent(model);
    out.append("<div class=\"bar\">\n<div><span id=\"aq-pl\">");
    out.append(text.progress_label);
    out.append("</span><span id=\"aq-pct\">");
    AppendInt(percent, &out);
    out.append("%</span></div>\n<progress id=\"aq-bar\" max=\"100\" value=\"");
    AppendInt(percent, &out);
    out.append("\" aria-labelledby=\"aq-pl\">");
    AppendInt(percent, &out);
    out.append("%</progress>\n</div>\n");
  }

  out.append("<p class=\"note\"><span class=\"dot\" aria-hidden=\"true\"></span><span>");
  out.append(text.auto_refresh_note);
  out.append("</span></p>\n<noscript><p>");
  out.append(text.noscript_note);
  out.append("</p></noscript>\n</main>\n<script>");
  out.append(kScript);
  out.append("</script>\n</body>\n</html>\n");
  return out;
}

std::string BuiltInClosedPage(const PageText& text, std::string_view title) {
  std::string out;
  out.reserve(6 * 1024);
  AppendHead(text, text.closed_heading, title, 0, /*noscript_refresh=*/false, &out);
  out.append("<main>\n");
  AppendHeading(title, text.closed_heading, &out);
  AppendLead(text.closed_lead, &out);
  out.append("<a class=\"button\" href=\"\">");
  out.append(text.try_again_link);
  out.append("</a>\n</main>\n</body>\n</html>\n");
  return out;
}

}  // namespace

absl::StatusOr<WaitingPages> WaitingPages::ForRoom(const v1::Room& room) {
  WaitingPages pages;
  pages.custom_is_closed_page_ = room.queueing_method() == v1::QUEUEING_METHOD_REJECT;
  const TemplateUse use =
      pages.custom_is_closed_page_ ? TemplateUse::kClosedPage : TemplateUse::kQueuePage;

  const v1::PageSettings& page = room.page();
  pages.room_.title = page.title();
  pages.room_.default_language = page.default_language();
  if (!page.custom_html().empty()) {
    absl::StatusOr<PageTemplate> compiled = PageTemplate::Compile(page.custom_html(), use);
    if (!compiled.ok()) {
      return absl::InvalidArgumentError("room.page.custom_html: " +
                                        std::string(compiled.status().message()));
    }
    pages.room_.custom = *std::move(compiled);
  }

  // Unset (empty) event fields keep the room's values.
  const v1::PageSettings& event = room.event().overrides().page();
  pages.event_ = pages.room_;
  pages.event_.title = event.title();  // Only the event's own title beats PageModel::title.
  if (!event.default_language().empty()) {
    pages.event_.default_language = event.default_language();
  }
  if (!event.custom_html().empty()) {
    absl::StatusOr<PageTemplate> compiled = PageTemplate::Compile(event.custom_html(), use);
    if (!compiled.ok()) {
      return absl::InvalidArgumentError("room.event.overrides.page.custom_html: " +
                                        std::string(compiled.status().message()));
    }
    pages.event_.custom = *std::move(compiled);
  }
  return pages;
}

const WaitingPages::Settings& WaitingPages::SettingsFor(const PageModel& model) const {
  return model.event_active ? event_ : room_;
}

std::string_view WaitingPages::Title(const PageModel& model) const {
  if (model.event_active && !event_.title.empty()) return event_.title;
  if (!model.title.empty()) return model.title;
  if (!room_.title.empty()) return room_.title;
  return model.room_id;
}

std::string WaitingPages::RenderQueued(const PageModel& model,
                                       std::string_view accept_language) const {
  const Settings& settings = SettingsFor(model);
  const PageText& text = TextFor(PickLanguage(accept_language, settings.default_language));
  if (settings.custom.has_value() && !custom_is_closed_page_) {
    return settings.custom->Render(model, text.code, Title(model));
  }
  return BuiltInQueuePage(model, text, Title(model));
}

std::string WaitingPages::RenderClosed(const PageModel& model,
                                       std::string_view accept_language) const {
  const Settings& settings = SettingsFor(model);
  const PageText& text = TextFor(PickLanguage(accept_language, settings.default_language));
  if (settings.custom.has_value() && custom_is_closed_page_) {
    return settings.custom->Render(model, text.code, Title(model));
  }
  return BuiltInClosedPage(text, Title(model));
}

}  // namespace anteroom::agent
