#include "common/page_text.h"

#include <array>
#include <charconv>

namespace anteroom::common {
namespace {

// Typographic apostrophes (’) keep the strings free of HTML-special characters; French
// puts a no-break space (\u00a0) before ":".
constexpr PageText kTexts[] = {
    {
        .code = "en",
        .name = "English",
        .queued_heading = "You are in line",
        .queued_lead = "The site is very busy right now. Keep this page open: you will be let "
                       "in automatically when it is your turn.",
        .position_label = "Your position",
        .eta_label = "Estimated wait",
        .progress_label = "Progress",
        .auto_refresh_note = "This page refreshes automatically.",
        .noscript_note = "JavaScript is off, so this page reloads itself every few seconds. You "
                         "keep your place.",
        .eta_under_a_minute = "less than a minute",
        .eta_one_minute = "about 1 minute",
        .eta_minutes = "about {n} minutes",
        .eta_one_hour = "about 1 hour",
        .eta_hours = "about {n} hours",
        .eta_unknown = "not known yet",
        .prequeue_heading = "You are early",
        .prequeue_start = "The sale starts on {time}.",
        .prequeue_lead = "Keep this page open: once the sale starts, you will be let in "
                         "automatically when it is your turn.",
        .admitted_heading = "It’s your turn",
        .admitted_lead = "Taking you to the site…",
        .continue_link = "Continue",
        .closed_heading = "This page is closed",
        .closed_lead = "The site is not accepting visitors right now. Please try again later.",
        .try_again_link = "Try again",
    },
    {
        .code = "de",
        .name = "Deutsch",
        .queued_heading = "Sie sind in der Warteschlange",
        .queued_lead = "Die Website ist gerade stark besucht. Lassen Sie diese Seite geöffnet: "
                       "Sie werden automatisch eingelassen, sobald Sie an der Reihe sind.",
        .position_label = "Ihre Position",
        .eta_label = "Geschätzte Wartezeit",
        .progress_label = "Fortschritt",
        .auto_refresh_note = "Diese Seite aktualisiert sich automatisch.",
        .noscript_note = "JavaScript ist ausgeschaltet, daher lädt sich diese Seite alle paar "
                         "Sekunden neu. Ihr Platz bleibt erhalten.",
        .eta_under_a_minute = "weniger als eine Minute",
        .eta_one_minute = "etwa 1 Minute",
        .eta_minutes = "etwa {n} Minuten",
        .eta_one_hour = "etwa 1 Stunde",
        .eta_hours = "etwa {n} Stunden",
        .eta_unknown = "noch unbekannt",
        .prequeue_heading = "Sie sind früh dran",
        .prequeue_start = "Der Verkauf beginnt am {time}.",
        .prequeue_lead = "Lassen Sie diese Seite geöffnet: Sobald der Verkauf beginnt, werden "
                         "Sie automatisch eingelassen, wenn Sie an der Reihe sind.",
        .admitted_heading = "Sie sind an der Reihe",
        .admitted_lead = "Sie werden weitergeleitet …",
        .continue_link = "Weiter",
        .closed_heading = "Diese Seite ist geschlossen",
        .closed_lead = "Die Website nimmt gerade keine Besucher an. Bitte versuchen Sie es "
                       "später erneut.",
        .try_again_link = "Erneut versuchen",
    },
    {
        .code = "fr",
        .name = "Français",
        .queued_heading = "Vous êtes dans la file d’attente",
        .queued_lead = "Le site est très fréquenté en ce moment. Gardez cette page "
                       "ouverte\u00a0: vous serez admis automatiquement quand ce sera votre tour.",
        .position_label = "Votre position",
        .eta_label = "Attente estimée",
        .progress_label = "Progression",
        .auto_refresh_note = "Cette page s’actualise automatiquement.",
        .noscript_note = "JavaScript est désactivé\u00a0: cette page se recharge donc toutes les "
                         "quelques secondes. Vous gardez votre place.",
        .eta_under_a_minute = "moins d’une minute",
        .eta_one_minute = "environ 1 minute",
        .eta_minutes = "environ {n} minutes",
        .eta_one_hour = "environ 1 heure",
        .eta_hours = "environ {n} heures",
        .eta_unknown = "pas encore connue",
        .prequeue_heading = "Vous êtes en avance",
        .prequeue_start = "La vente commence le {time}.",
        .prequeue_lead = "Gardez cette page ouverte\u00a0: dès le début de la vente, vous serez "
                         "admis automatiquement à votre tour.",
        .admitted_heading = "C’est votre tour",
        .admitted_lead = "Redirection vers le site…",
        .continue_link = "Continuer",
        .closed_heading = "Cette page est fermée",
        .closed_lead = "Le site n’accueille pas de visiteurs pour le moment. Veuillez réessayer "
                       "plus tard.",
        .try_again_link = "Réessayer",
    },
    {
        .code = "it",
        .name = "Italiano",
        .queued_heading = "Sei in coda",
        .queued_lead = "Il sito è molto visitato in questo momento. Tieni aperta questa pagina: "
                       "entrerai automaticamente quando sarà il tuo turno.",
        .position_label = "La tua posizione",
        .eta_label = "Attesa stimata",
        .progress_label = "Avanzamento",
        .auto_refresh_note = "Questa pagina si aggiorna automaticamente.",
        .noscript_note = "JavaScript è disattivato, quindi questa pagina si ricarica ogni pochi "
                         "secondi. Non perderai il tuo posto.",
        .eta_under_a_minute = "meno di un minuto",
        .eta_one_minute = "circa 1 minuto",
        .eta_minutes = "circa {n} minuti",
        .eta_one_hour = "circa 1 ora",
        .eta_hours = "circa {n} ore",
        .eta_unknown = "non ancora nota",
        .prequeue_heading = "Sei in anticipo",
        .prequeue_start = "La vendita inizia il {time}.",
        .prequeue_lead = "Tieni aperta questa pagina: quando inizierà la vendita, entrerai "
                         "automaticamente al tuo turno.",
        .admitted_heading = "È il tuo turno",
        .admitted_lead = "Ti stiamo portando al sito…",
        .continue_link = "Continua",
        .closed_heading = "Questa pagina è chiusa",
        .closed_lead = "Il sito non accetta visitatori in questo momento. Riprova più tardi.",
        .try_again_link = "Riprova",
    },
    {
        .code = "es",
        .name = "Español",
        .queued_heading = "Estás en la fila",
        .queued_lead = "El sitio tiene mucho tráfico en este momento. Mantén esta página "
                       "abierta: entrarás automáticamente cuando sea tu turno.",
        .position_label = "Tu posición",
        .eta_label = "Espera estimada",
        .progress_label = "Progreso",
        .auto_refresh_note = "Esta página se actualiza automáticamente.",
        .noscript_note = "JavaScript está desactivado, así que esta página se recarga cada pocos "
                         "segundos. No perderás tu lugar.",
        .eta_under_a_minute = "menos de un minuto",
        .eta_one_minute = "aproximadamente 1 minuto",
        .eta_minutes = "aproximadamente {n} minutos",
        .eta_one_hour = "aproximadamente 1 hora",
        .eta_hours = "aproximadamente {n} horas",
        .eta_unknown = "aún desconocida",
        .prequeue_heading = "Has llegado pronto",
        .prequeue_start = "La venta empieza el {time}.",
        .prequeue_lead = "Mantén esta página abierta: cuando empiece la venta, entrarás "
                         "automáticamente cuando sea tu turno.",
        .admitted_heading = "Es tu turno",
        .admitted_lead = "Te estamos llevando al sitio…",
        .continue_link = "Continuar",
        .closed_heading = "Esta página está cerrada",
        .closed_lead = "El sitio no admite visitantes en este momento. Inténtalo de nuevo más "
                       "tarde.",
        .try_again_link = "Reintentar",
    },
    {
        .code = "nl",
        .name = "Nederlands",
        .queued_heading = "Je staat in de wachtrij",
        .queued_lead = "Het is op dit moment erg druk op de website. Houd deze pagina open: je "
                       "wordt automatisch doorgelaten zodra je aan de beurt bent.",
        .position_label = "Jouw positie",
        .eta_label = "Geschatte wachttijd",
        .progress_label = "Voortgang",
        .auto_refresh_note = "Deze pagina wordt automatisch vernieuwd.",
        .noscript_note = "JavaScript staat uit, dus deze pagina laadt zichzelf om de paar "
                         "seconden opnieuw. Je houdt je plek.",
        .eta_under_a_minute = "minder dan een minuut",
        .eta_one_minute = "ongeveer 1 minuut",
        .eta_minutes = "ongeveer {n} minuten",
        .eta_one_hour = "ongeveer 1 uur",
        .eta_hours = "ongeveer {n} uur",
        .eta_unknown = "nog onbekend",
        .prequeue_heading = "Je bent vroeg",
        .prequeue_start = "De verkoop begint op {time}.",
        .prequeue_lead = "Houd deze pagina open: zodra de verkoop begint, word je automatisch "
                         "doorgelaten wanneer je aan de beurt bent.",
        .admitted_heading = "Je bent aan de beurt",
        .admitted_lead = "Je wordt doorgestuurd…",
        .continue_link = "Doorgaan",
        .closed_heading = "Deze pagina is gesloten",
        .closed_lead = "De website laat op dit moment geen bezoekers toe. Probeer het later "
                       "opnieuw.",
        .try_again_link = "Opnieuw proberen",
    },
    {
        .code = "pt",
        .name = "Português",
        .queued_heading = "Está na fila",
        .queued_lead = "O site está com muito movimento neste momento. Mantenha esta página "
                       "aberta: entrará automaticamente quando for a sua vez.",
        .position_label = "Posição na fila",
        .eta_label = "Tempo de espera estimado",
        .progress_label = "Progresso",
        .auto_refresh_note = "Esta página é atualizada automaticamente.",
        .noscript_note = "O JavaScript está desativado, por isso esta página é recarregada a "
                         "cada poucos segundos. Não perde o seu lugar.",
        .eta_under_a_minute = "menos de um minuto",
        .eta_one_minute = "cerca de 1 minuto",
        .eta_minutes = "cerca de {n} minutos",
        .eta_one_hour = "cerca de 1 hora",
        .eta_hours = "cerca de {n} horas",
        .eta_unknown = "ainda desconhecido",
        .prequeue_heading = "Chegou cedo",
        .prequeue_start = "A venda começa em {time}.",
        .prequeue_lead = "Mantenha esta página aberta: quando a venda começar, entrará "
                         "automaticamente quando for a sua vez.",
        .admitted_heading = "É a sua vez",
        .admitted_lead = "Um momento…",
        .continue_link = "Continuar",
        .closed_heading = "Esta página está fechada",
        .closed_lead = "O site não recebe visitantes neste momento. Tente novamente mais tarde.",
        .try_again_link = "Tentar novamente",
    },
};

constexpr size_t kMaxHeaderBytes = 4096;
constexpr size_t kMaxRanges = 32;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Our language whose code is the primary subtag of `tag` ("de-CH" -> de), or nullptr.
const PageText* FindPrimary(std::string_view tag) {
  std::string_view primary = tag.substr(0, tag.find('-'));
  for (const PageText& text : kTexts) {
    if (EqualsIgnoreCase(primary, text.code)) return &text;
  }
  return nullptr;
}

// RFC 4647 language-range: "*" or 1*8ALPHA *("-" 1*8alphanum).
bool IsLanguageRange(std::string_view s) {
  if (s == "*") return true;
  size_t part = 0;
  bool first = true;
  for (char c : s) {
    if (c == '-') {
      if (part == 0) return false;
      part = 0;
      first = false;
      continue;
    }
    if (!(IsAlpha(c) || (!first && IsDigit(c)))) return false;
    if (++part > 8) return false;
  }
  return part > 0;
}

// RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ], in thousandths; -1 if bad.
int ParseQValue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return -1;
  int whole = s[0] - '0';
  if (s.size() == 1) return whole * 1000;
  if (s[1] != '.' || s.size() > 5) return -1;
  int thousandths = 0;
  int scale = 100;
  for (char c : s.substr(2)) {
    if (!IsDigit(c)) return -1;
    thousandths += (c - '0') * scale;
    scale /= 10;
  }
  if (whole == 1 && thousandths != 0) return -1;
  return whole * 1000 + thousandths;
}

struct Range {
  std::string_view tag;
  int q = 1000;
};

// Parses one "range;q=x" element; false when it is malformed.
bool ParseRange(std::string_view element, Range* range) {
  size_t semi = element.find(';');
  range->tag = Trim(element.substr(0, semi));
  range->q = 1000;
  if (!IsLanguageRange(range->tag)) return false;
  while (semi != std::string_view::npos) {
    std::string_view rest = element.substr(semi + 1);
    semi = rest.find(';');
    std::string_view param = Trim(rest.substr(0, semi));
    if (param.size() >= 2 && Lower(param[0]) == 'q' && param[1] == '=') {
      range->q = ParseQValue(param.substr(2));
      if (range->q < 0) return false;
    }
    element = rest;
  }
  return true;
}

}  // namespace

std::span<const PageText> AllPageTexts() { return kTexts; }

const PageText& TextFor(std::string_view code) {
  for (const PageText& text : kTexts) {
    if (text.code == code) return text;
  }
  return kTexts[0];
}

std::string_view PickLanguage(std::string_view accept_language, std::string_view default_language) {
  const PageText* fallback = FindPrimary(Trim(default_language));
  if (fallback == nullptr) fallback = &kTexts[0];

  if (accept_language.size() > kMaxHeaderBytes) {
    // Drop the element the cut would split, so that "en;q=0.8" never reads as "en;q=0".
    accept_language = accept_language.substr(0, kMaxHeaderBytes);
    size_t comma = accept_language.rfind(',');
    accept_language = accept_language.substr(0, comma == std::string_view::npos ? 0 : comma);
  }

  std::array<Range, kMaxRanges> ranges;
  size_t count = 0;
  while (!accept_language.empty() && count < kMaxRanges) {
    size_t comma = accept_language.find(',');
    std::string_view element = accept_language.substr(0, comma);
    accept_language =
        comma == std::string_view::npos ? std::string_view() : accept_language.substr(comma + 1);
    if (ParseRange(element, &ranges[count])) ++count;
  }

  // A bare language with q=0 ("de;q=0") rules that language out, whatever else asks for it.
  auto excluded = [&](const PageText& text) {
    for (size_t i = 0; i < count; ++i) {
      if (ranges[i].q == 0 && EqualsIgnoreCase(ranges[i].tag, text.code)) return true;
    }
    return false;
  };

  // Highest q first; among equals the earliest, which is what a stable sort would give.
  const PageText* best = nullptr;
  int best_q = 0;
  for (size_t i = 0; i < count; ++i) {
    if (ranges[i].q <= best_q) continue;
    const PageText* candidate = nullptr;
    if (ranges[i].tag == "*") {
      if (!excluded(*fallback)) {
        candidate = fallback;
      } else {
        for (const PageText& text : kTexts) {
          if (!excluded(text)) {
            candidate = &text;
            break;
          }
        }
      }
    } else {
      candidate = FindPrimary(ranges[i].tag);
      if (candidate != nullptr && excluded(*candidate)) candidate = nullptr;
    }
    if (candidate != nullptr) {
      best = candidate;
      best_q = ranges[i].q;
    }
  }
  return best != nullptr ? best->code : fallback->code;
}

void AppendFilled(std::string_view pattern, std::string_view name, std::string_view value,
                  std::string* out) {
  for (;;) {
    size_t at = pattern.find(name);
    if (at == std::string_view::npos) break;
    out->append(pattern.substr(0, at));
    out->append(value);
    pattern.remove_prefix(at + name.size());
  }
  out->append(pattern);
}

void AppendHumanEta(int64_t eta_seconds, const PageText& text, std::string* out) {
  if (eta_seconds < 0) {
    out->append(text.eta_unknown);
    return;
  }
  if (eta_seconds < 60) {
    out->append(text.eta_under_a_minute);
    return;
  }
  // Ten years is "very long" already; the cap keeps the rounding below from overflowing.
  constexpr int64_t kCapSeconds = int64_t{10} * 365 * 24 * 3600;
  if (eta_seconds > kCapSeconds) eta_seconds = kCapSeconds;
  int64_t minutes = (eta_seconds + 30) / 60;
  int64_t n = minutes;
  std::string_view one = text.eta_one_minute;
  std::string_view many = text.eta_minutes;
  if (minutes >= 60) {
    n = (minutes + 30) / 60;
    one = text.eta_one_hour;
    many = text.eta_hours;
  }
  if (n == 1) {
    out->append(one);
    return;
  }
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), n);
  (void)ec;  // 24 bytes hold any int64_t.
  AppendFilled(many, "{n}", std::string_view(digits, end - digits), out);
}

std::string HumanEta(int64_t eta_seconds, const PageText& text) {
  std::string out;
  AppendHumanEta(eta_seconds, text, &out);
  return out;
}

}  // namespace anteroom::common
