// @ts-check
// The guide shown inside Tandem: plain text, rendered with textContent (never as HTML).
// Written for this project. It is general information, not medical advice.

export const GUIDE_VERSION = "1";

export const NO_MEDICAL_ADVICE =
  "Tandem gives no medical advice. This guide is general information to help you " +
  "talk with your therapist and your doctor; it does not replace either of them. " +
  "If you are worried about your health, ask a doctor.";

/** @type {{ id: string, title: string, paragraphs: string[], list?: string[] }[]} */
export const SECTIONS = [
  {
    id: "what-it-is",
    title: "What sex therapy is",
    paragraphs: [
      "Sex therapy is talk therapy. You meet a trained professional (often a psychologist, " +
        "counsellor, social worker or doctor with further training) and talk about a " +
        "concern with intimacy or your sexual life, alone or as a couple.",
      "Sessions are conversations, in an office or by video. Your therapist listens, asks " +
        "questions, explains how bodies, feelings and relationships affect each other, and " +
        "suggests small steps you can try at home, in private, in your own time.",
      "Many people feel shy at first. That is normal, and a good therapist expects it. You " +
        "decide what to talk about and how fast.",
    ],
  },
  {
    id: "what-it-is-not",
    title: "What sex therapy is not",
    paragraphs: [
      "There is never any physical contact between you and your therapist. Not in a " +
        "session, not as an exercise, not ever. Nobody undresses, and nothing sexual happens " +
        "in the therapy room. If a physical examination is needed, a doctor does it " +
        "separately, as in any other medical visit.",
      "If a therapist ever suggests touching, undressing, or meeting in a way that feels " +
        "personal rather than professional, you can stop the session and leave. That is a " +
        "breach of every professional code, and you can report it to the body that licensed " +
        "or certified them.",
      "Therapy is also not a test you can fail, and it is not a quick fix. Change usually " +
        "comes in small steps over weeks.",
    ],
  },
  {
    id: "concerns",
    title: "Raising a concern, or changing therapist",
    paragraphs: [
      "You can say so when something feels wrong: an exercise that does not suit you, a " +
        "question you do not want to answer yet, the pace, or the way you are spoken to. A " +
        "good therapist welcomes this and adjusts.",
      "You can also change therapist at any time, without giving a reason. In Tandem, either " +
        "partner can remove the therapist from the couple (on the couple's page, under " +
        "members); from that moment the therapist sees nothing more, and you can invite " +
        "someone else.",
      "If you believe a therapist acted unprofessionally, you can contact the licensing " +
        "board or professional association named in their profile.",
    ],
  },
  {
    id: "first-sessions",
    title: "What the first sessions look like",
    paragraphs: [
      "The first one or two sessions are mostly about getting to know you: what brings you, " +
        "when it began, what you have already tried, your health, and your relationship. " +
        "The therapist may see you together and also each of you alone for part of the time.",
      "Together you agree on what you would like to change, how often you will meet, and " +
        "roughly how long therapy might take. Ask how confidentiality works and what its " +
        "limits are.",
      "It is fine to say \"I am not ready to talk about that yet\". It is also fine to bring " +
        "notes: the preparation sheet in Tandem is there for exactly that.",
    ],
  },
  {
    id: "homework",
    title: "How homework works",
    paragraphs: [
      "Between sessions your therapist may suggest exercises: ways of talking and listening, " +
        "relaxation, or gentle touch exercises that go in stages. They appear in Tandem as " +
        "this week's plan. Each one says why it helps and what its limits are at this stage.",
      "You do them at home, in private, when it suits you both. Afterwards you can note how " +
        "it went; your therapist sees only what you choose to share.",
      "\"Stop\" is always fine. Either of you may pause or end an exercise at any moment, " +
        "without explaining. A stopped exercise is not a failure: it is useful to talk about " +
        "at the next session.",
      "Missing a week happens. Nobody is graded, and reminders can be paused whenever life " +
        "gets in the way.",
    ],
  },
  {
    id: "before-booking",
    title: "Questions to ask before booking",
    paragraphs: [
      "It is reasonable to ask a therapist these before you start. Many answer them in their " +
        "profile in Tandem, which you can read before accepting an invitation.",
    ],
    list: [
      "What is your education and training?",
      "Are you licensed, and where? What is your licence number?",
      "Are you certified in sex therapy, and by whom?",
      "How much experience do you have with a concern like ours?",
      "Where is your office, and do you offer video sessions? What are your hours?",
      "How long is a session, and how often would we meet?",
      "How many sessions do people usually need for a concern like ours?",
      "What is your policy if we need to cancel or reschedule?",
      "What are your fees? Do you accept insurance, and how is payment made?",
    ],
  },
  {
    id: "what-to-bring",
    title: "What to bring to an appointment",
    paragraphs: [
      "A little preparation makes sessions easier, especially the first ones. Tandem's " +
        "preparation sheet has a place for each of these, and you choose for each one who " +
        "may read it: only you, your partner, your therapist, or both.",
    ],
    list: [
      "The details of your concern: what it is, when it began, and whether it happens " +
        "every time or only sometimes.",
      "Professionals you have already seen, treatments you have tried, and how they worked.",
      "Medical problems, stresses and recent life changes (a move, a new job, a birth, a loss).",
      "Every medication, supplement and remedy you take, with the dose.",
      "Your questions for the therapist.",
    ],
  },
  {
    id: "doctor",
    title: "When a doctor should be involved",
    paragraphs: [
      "Sexual concerns often have physical causes or companions, and a therapist may ask you " +
        "to see a doctor alongside therapy. Consider talking to a doctor when any of these " +
        "apply:",
    ],
    list: [
      "You suspect a medication affects desire, arousal or comfort (never stop a prescribed " +
        "medicine on your own; ask the person who prescribed it).",
      "You live with a long-term illness such as diabetes, heart disease or a neurological " +
        "condition.",
      "You have had surgery or treatment for cancer or another serious illness.",
      "Things changed with age, for example around menopause or with changes in hormones.",
      "Stress, anxiety or low mood weigh on you, or you think you may be depressed.",
      "There is pain or discomfort during intimacy, or a sudden change you cannot explain.",
    ],
  },
  {
    id: "urgent",
    title: "If you need help now",
    paragraphs: [
      "Tandem is not watched by anyone in real time, and messages in it are not read " +
        "straight away. If you feel unsafe, or are thinking of harming yourself, contact " +
        "your local emergency number or a crisis line now.",
    ],
  },
];
