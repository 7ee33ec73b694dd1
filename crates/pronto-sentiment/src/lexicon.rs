//! The built-in word lists, written for Pronto. Values are polarities in [-3, 3].

pub(crate) const EN_STOP: &[&str] = &[
    "the", "and", "is", "are", "was", "my", "i", "you", "your", "to", "of", "it", "for", "on",
    "this", "that", "with", "have", "has", "be", "where", "when", "what", "will", "at", "me", "we",
    "an", "a", "can", "do", "does", "not", "no",
];

pub(crate) const IT_STOP: &[&str] = &[
    "il", "lo", "la", "le", "gli", "di", "che", "e", "è", "un", "una", "per", "non", "mi", "mio",
    "mia", "sono", "del", "della", "con", "ho", "ma", "come", "dove", "quando", "ancora", "da",
    "vostro", "vostra", "ci", "si", "ordine", "questo", "anche",
];

pub(crate) const NEGATORS: &[&str] = &[
    "not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "won't",
    "can't", "cannot", "nothing", "non", "mai", "nessun", "nessuno", "niente", "nemmeno",
    "neanche",
];

pub(crate) const ANGER: &[&str] = &[
    "furious",
    "angry",
    "outrageous",
    "disgusting",
    "ridiculous",
    "unacceptable",
    "worst",
    "pathetic",
    "scandaloso",
    "vergogna",
    "vergognoso",
    "inaccettabile",
    "schifo",
    "ridicolo",
    "arrabbiato",
    "furioso",
    "pessimo",
    "😡",
    "🤬",
    "😠",
];

pub(crate) const COMPLAINT: &[&str] = &[
    "complaint",
    "complain",
    "refund",
    "broken",
    "never",
    "still",
    "waiting",
    "reclamo",
    "rimborso",
    "guasto",
    "rotto",
    "ancora",
    "aspetto",
    "attesa",
    "disservizio",
];

pub(crate) const THANKS: &[&str] = &["thanks", "thank", "thx", "ty", "grazie", "ringrazio"];

pub(crate) fn intensifier(word: &str) -> Option<f64> {
    Some(match word {
        "very" | "really" | "so" | "soo" | "extremely" | "totally" | "absolutely" | "molto"
        | "davvero" | "veramente" | "proprio" | "super" | "troppo" | "tanto" => 1.5,
        "slightly" | "somewhat" | "abbastanza" | "poco" => 0.6,
        _ => return None,
    })
}

pub(crate) fn polarity(word: &str) -> Option<f64> {
    Some(match word {
        // English, positive
        "good" | "nice" | "fine" | "helpful" | "happy" | "glad" | "quick" | "fast" | "easy"
        | "resolved" | "solved" | "works" | "working" | "kind" | "friendly" | "polite" => 1.5,
        "great" | "excellent" | "awesome" | "amazing" | "love" | "loved" | "perfect"
        | "fantastic" | "wonderful" | "best" | "brilliant" | "appreciate" | "appreciated" => 2.5,
        "thanks" | "thank" | "thx" => 1.2,
        // English, negative
        "bad" | "poor" | "slow" | "late" | "delayed" | "delay" | "cancelled" | "canceled"
        | "lost" | "wrong" | "problem" | "issue" | "broken" | "rude" | "annoying" | "annoyed"
        | "frustrated" | "frustrating" | "disappointed" | "disappointing" | "fail" | "failed"
        | "unhelpful" | "useless" | "waiting" | "stuck" | "missing" | "sucks" | "hate" => -1.6,
        "terrible" | "awful" | "horrible" | "worst" | "furious" | "angry" | "disgusting"
        | "ridiculous" | "unacceptable" | "pathetic" | "outrageous" | "scam" => -2.6,
        // Italian, positive
        "buono" | "buona" | "bene" | "gentile" | "gentili" | "veloce" | "rapido" | "rapida"
        | "risolto" | "risolta" | "funziona" | "contento" | "contenta" | "soddisfatto"
        | "soddisfatta" | "cortese" | "disponibile" => 1.5,
        "ottimo" | "ottima" | "perfetto" | "perfetta" | "fantastico" | "eccellente"
        | "bravissimi" | "bravi" | "complimenti" | "top" | "adoro" | "splendido" => 2.5,
        "grazie" | "ringrazio" => 1.2,
        // Italian, negative
        "male" | "lento" | "lenta" | "ritardo" | "problema" | "problemi" | "rotto" | "guasto"
        | "sbagliato" | "perso" | "persa" | "deluso" | "delusa" | "inutile" | "maleducato"
        | "attesa" | "aspetto" | "bloccato" | "annullato" | "disservizio" | "cancellato" => -1.6,
        "pessimo" | "pessima" | "vergogna" | "vergognoso" | "schifo" | "orribile" | "terribile"
        | "inaccettabile" | "scandaloso" | "ridicolo" | "truffa" | "furioso" | "arrabbiato" => -2.6,
        // Emoji
        "😀" | "😃" | "😊" | "🙂" | "👍" | "❤" | "❤️" | "😍" | "🥰" | "🙏" | "👏" => {
            2.0
        }
        "😞" | "😢" | "😭" | "👎" | "😒" | "🙁" | "☹" => -2.0,
        "😡" | "🤬" | "😠" => -2.8,
        _ => return None,
    })
}
