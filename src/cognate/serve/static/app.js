// The page of `cognate serve`: model cards with live curves, a streamed chat, a test panel.
// It talks to the server's /api (runs, metrics, tests) and its OpenAI-compatible /v1.
"use strict";

const RUNS_EVERY_MS = 5000;     // cards (and new best checkpoints) refresh
const METRICS_EVERY_MS = 3000;  // curves of runs still training refresh
const CHAT_MAX_TOKENS = 48;
const COLORS = { train: "#6366f1", validation: "#f97316", match: "#10b981" };

const state = {
  runs: new Map(),     // name -> card (from /api/runs)
  metrics: new Map(),  // name -> {cursor, train: [], validation: []}
  chat: [],            // OpenAI messages of the conversation
  busy: false,
};

const $ = (id) => document.getElementById(id);

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function percent(value, pending = true) {
  if (value === null || value === undefined) return pending ? "…" : "–";
  return `${(value * 100).toFixed(1)}%`;
}

function compact(count) {
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)}k`;
  return String(count);
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}

// ---------------------------------------------------------------- model cards

function cardSkeleton(name) {
  const card = make("article", "card");
  card.id = `card-${name}`;
  const head = make("header", "card-head");
  head.append(make("h3", "", name), make("span", "badge"), make("span", "status"));
  const charts = make("div", "charts");
  for (const kind of ["loss", "match", "act"]) charts.appendChild(make("div", `chart-box ${kind}`));
  const about = make("div", "about");
  about.append(make("div", "stats"), make("div", "seeds"));
  const body = make("div", "card-body");
  body.append(about, charts);
  card.append(head, body);
  return card;
}

function stat(label, value, title) {
  const box = make("div", "stat");
  box.append(make("span", "stat-value", value), make("span", "stat-label", label));
  if (title) box.title = title;
  return box;
}

function renderCard(run) {
  let card = $(`card-${run.name}`);
  if (!card) {
    card = cardSkeleton(run.name);
    $("cards").appendChild(card);
  }
  const badge = card.querySelector(".badge");
  badge.textContent = run.specialization || "no checkpoint yet";
  badge.dataset.spec = run.specialization || "";
  const status = card.querySelector(".status");
  status.textContent = run.training;
  status.dataset.status = run.training;

  const stats = card.querySelector(".stats");
  stats.replaceChildren();
  if (!run.served) {
    stats.appendChild(make("p", "muted", "Training has not saved a checkpoint yet; its curves are below."));
  } else {
    stats.append(
      stat("parameters", compact(run.parameters.total), `${run.parameters.total.toLocaleString()} parameters`),
      stat("best step", String(run.step), `${run.checkpoint} (epoch ${run.epoch})`),
      stat("validation EM", percent(run.validation_exact_match), "exact match on the validation split when this checkpoint was saved"),
      stat("held-out EM", percent(run.heldout_exact_match, Boolean(run.specialization)), `exact match on ${run.heldout_size} prompts of the held-out test split, scored by this server when it loaded the checkpoint`),
      stat("ACT steps", `≤ ${run.t_max}`, `recursion steps per token: 1 to ${run.t_max}, halting threshold ${run.act_threshold}`),
    );
  }

  const seeds = card.querySelector(".seeds");
  seeds.replaceChildren(make("h4", "", "Seed prompts"));
  if (run.served && run.seed_prompts === null) {
    const note = run.specialization ? "Answering them…" : "None: the run names no specialization.";
    seeds.appendChild(make("p", "muted", note));
  }
  for (const result of run.seed_prompts || []) {
    const row = make("div", `seed ${result.correct ? "ok" : "bad"}`);
    row.title = `ACT steps per token: ${result.act_steps.join(", ")}`;
    const verdict = make("span", "verdict", result.correct ? "✓" : "✗");
    const text = make("div", "seed-text");
    text.append(
      make("div", "seed-prompt", result.prompt),
      make("div", "seed-answer", `expected ${result.expected} · answered ${result.output.trim() || "(nothing)"}`),
    );
    row.append(verdict, text);
    seeds.appendChild(row);
  }
  if (run.seed_prompts) {
    seeds.appendChild(make("p", "footnote", "Answered greedily by this checkpoint when the server loaded it."));
  }
  drawCurves(run.name);
}

function drawCurves(name) {
  const card = $(`card-${name}`);
  const metrics = state.metrics.get(name);
  if (!card || !metrics) return;
  const pairs = (records, key) => records.filter((r) => r[key] !== undefined && r[key] !== null).map((r) => [r.step, r[key]]);
  const { train, validation } = metrics;
  // The three charts share the steps axis, from the start of training to the last record.
  const steps = { xMin: 0, xMax: Math.max(1, ...[...train, ...validation].map((r) => r.step)) };
  Curves.draw(card.querySelector(".chart-box.loss"), [
    { label: "train (LM)", color: COLORS.train, points: pairs(train, "lm_loss") },
    { label: "validation", color: COLORS.validation, points: pairs(validation, "val_loss"), dots: true },
  ], { title: "Loss", ...steps });
  Curves.draw(card.querySelector(".chart-box.match"), [
    { label: "validation", color: COLORS.match, points: pairs(validation, "exact_match"), dots: true },
  ], { title: "Validation exact-match", percent: true, yMin: 0, yMax: 1, ...steps });
  Curves.draw(card.querySelector(".chart-box.act"), [
    { label: "train", color: COLORS.train, points: pairs(train, "halt_steps_mean") },
    { label: "validation", color: COLORS.validation, points: pairs(validation, "act_steps_mean"), dots: true },
  ], { title: "ACT steps per token", yMin: 1, ...steps });
}

async function refreshMetrics(name) {
  const metrics = state.metrics.get(name) || { cursor: "", train: [], validation: [] };
  const chunk = await getJSON(`/api/runs/${encodeURIComponent(name)}/metrics?cursor=${encodeURIComponent(metrics.cursor)}`);
  if (chunk.restarted) { metrics.train = []; metrics.validation = []; }
  for (const record of chunk.records) {
    if (record.kind === "train") metrics.train.push(record);
    if (record.kind === "validation") metrics.validation.push(record);
  }
  const grew = chunk.records.length > 0 || chunk.restarted || !state.metrics.has(name);
  metrics.cursor = chunk.cursor;
  state.metrics.set(name, metrics);
  if (grew) drawCurves(name);
}

async function refreshRuns() {
  const { runs } = await getJSON("/api/runs");
  const first = state.runs.size === 0;
  $("cards").querySelector(":scope > p")?.remove();
  for (const run of runs) {
    const before = state.runs.get(run.name);
    state.runs.set(run.name, run);
    renderCard(run);
    if (!before) await refreshMetrics(run.name);
  }
  if (first || runs.some((r) => r.served !== state.runs.get(r.name)?.served)) fillModelSelects();
}

// ---------------------------------------------------------------- chat

function servedRuns() {
  return [...state.runs.values()].filter((r) => r.served);
}

function fillModelSelects() {
  for (const id of ["chat-model", "test-model"]) {
    const select = $(id);
    const chosen = select.value;
    select.replaceChildren(...servedRuns().map((r) => {
      const option = make("option", "", `${r.name}${r.specialization && r.specialization !== r.name ? ` (${r.specialization})` : ""}`);
      option.value = r.name;
      return option;
    }));
    if (chosen && state.runs.get(chosen)?.served) select.value = chosen;
  }
  showExamples();
  showLegend();
}

function chatRun() {
  return state.runs.get($("chat-model").value);
}

function showExamples() {
  const box = $("chat-examples");
  box.replaceChildren();
  const run = chatRun();
  for (const result of (run && run.seed_prompts) || []) {
    const chip = make("button", "chip", result.prompt);
    chip.type = "button";
    chip.addEventListener("click", () => { $("chat-input").value = result.prompt; $("chat-input").focus(); });
    box.appendChild(chip);
  }
}

function shade(steps, tMax) {
  const share = tMax > 1 ? (steps - 1) / (tMax - 1) : 1;
  return `rgba(99, 102, 241, ${(0.1 + 0.55 * share).toFixed(2)})`;
}

function showLegend() {
  const run = chatRun();
  const legend = $("act-legend");
  legend.replaceChildren();
  if (!run) return;
  legend.appendChild(make("span", "muted", "Recursion steps per token: "));
  for (let steps = 1; steps <= run.t_max; steps++) {
    const swatch = make("span", "token", String(steps));
    swatch.style.background = shade(steps, run.t_max);
    legend.appendChild(swatch);
  }
}

function bubble(role, text) {
  const log = $("chat-log");
  log.querySelector(".empty")?.remove();
  const node = make("div", `bubble ${role}`);
  if (text !== undefined) node.textContent = text;
  log.appendChild(node);
  log.scrollTop = log.scrollHeight;
  return node;
}

// Server-sent events of a streamed chat completion: calls onChunk(chunk) for each.
async function readEvents(response, onChunk) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data === "[DONE]") return;
      if (data) onChunk(JSON.parse(data));
    }
  }
}

async function sendChat(text) {
  const run = chatRun();
  if (!run || state.busy) return;
  state.busy = true;
  $("chat-send").disabled = true;
  bubble("user", text);
  const messages = [...state.chat, { role: "user", content: text }];
  const answer = bubble("assistant");
  answer.classList.add("streaming");
  let content = "", contextOnly = false;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        model: run.name, messages, stream: true, max_tokens: CHAT_MAX_TOKENS,
        temperature: Number($("chat-temperature").value),
      }),
    });
    if (!response.ok) throw new Error((await response.json()).error.message);
    await readEvents(response, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices[0];
      if (!choice) return;
      const piece = choice.delta && choice.delta.content;
      if (piece) {
        content += piece;
        const token = make("span", "token", piece);
        const steps = choice.act_steps || [];
        const mean = steps.length ? steps.reduce((a, b) => a + b, 0) / steps.length : 1;
        token.style.background = shade(mean, run.t_max);
        token.title = `${steps.join(" + ")} recursion step${mean === 1 && steps.length < 2 ? "" : "s"}`;
        answer.appendChild(token);
        $("chat-log").scrollTop = $("chat-log").scrollHeight;
      }
      if (choice.context_only) contextOnly = true;
    });
    state.chat = contextOnly ? messages : [...messages, { role: "assistant", content }];
    if (contextOnly) {
      answer.classList.add("note");
      answer.textContent = "Noted as context for the next questions.";
    } else if (!content) {
      answer.classList.add("note");
      answer.textContent = "(no answer: the model ended at once)";
    }
  } catch (error) {
    answer.classList.add("error");
    answer.textContent = `Error: ${error.message}`;
  } finally {
    answer.classList.remove("streaming");
    state.busy = false;
    $("chat-send").disabled = false;
  }
}

function resetChat() {
  state.chat = [];
  $("chat-log").replaceChildren(make("p", "muted empty", "New conversation: the model remembers nothing said before."));
}

// ---------------------------------------------------------------- test panel

function parsePairs(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line, index) => {
    if (line.startsWith("{")) {
      const record = JSON.parse(line);
      if (typeof record.prompt !== "string" || typeof record.answer !== "string") {
        throw new Error(`line ${index + 1}: a JSON line needs "prompt" and "answer" strings`);
      }
      return { prompt: record.prompt, answer: record.answer };
    }
    const cut = line.lastIndexOf("=>");
    if (cut < 0) throw new Error(`line ${index + 1}: write "prompt => answer"`);
    return { prompt: line.slice(0, cut).trim(), answer: line.slice(cut + 2).trim() };
  });
}

async function runTest(request) {
  const name = $("test-model").value;
  const summary = $("test-summary");
  const table = $("test-table");
  if (!name) return;
  summary.className = "summary muted";
  summary.textContent = "Running…";
  table.replaceChildren();
  for (const button of document.querySelectorAll("#test button")) button.disabled = true;
  try {
    const result = await getJSON(`/api/runs/${encodeURIComponent(name)}/test`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    const correct = result.results.filter((r) => r.correct).length;
    summary.className = "summary";
    summary.textContent = `${name}: exact match ${correct}/${result.results.length} = ${percent(result.exact_match)}`;
    const head = make("tr");
    for (const title of ["#", "Prompt", "Expected", "Answer", "", "ACT steps"]) head.appendChild(make("th", "", title));
    table.appendChild(head);
    result.results.forEach((r, i) => {
      const row = make("tr", r.correct ? "ok" : "bad");
      const mean = r.act_steps.length ? (r.act_steps.reduce((a, b) => a + b, 0) / r.act_steps.length).toFixed(2) : "–";
      for (const [cls, text] of [["num", i + 1], ["prompt", r.prompt], ["", r.expected], ["", r.output.trim() || "(nothing)"], ["mark", r.correct ? "✓" : "✗"], ["num", mean]]) {
        row.appendChild(make("td", cls, String(text)));
      }
      table.appendChild(row);
    });
  } catch (error) {
    summary.className = "summary error";
    summary.textContent = `Error: ${error.message}`;
  } finally {
    for (const button of document.querySelectorAll("#test button")) button.disabled = false;
  }
}

// ---------------------------------------------------------------- wiring

function setup() {
  $("base-url").textContent = window.location.origin;
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || state.busy) return;
    $("chat-input").value = "";
    sendChat(text);
  });
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  $("chat-reset").addEventListener("click", resetChat);
  $("chat-model").addEventListener("change", () => { resetChat(); showExamples(); showLegend(); });
  $("chat-temperature").addEventListener("input", () => {
    const value = Number($("chat-temperature").value);
    $("chat-temperature-value").textContent = value === 0 ? "0 (greedy)" : value.toFixed(1);
  });
  $("test-seed").addEventListener("click", () => runTest({ suite: "seed" }));
  $("test-heldout").addEventListener("click", () => runTest({ suite: "heldout" }));
  $("test-pasted").addEventListener("click", () => {
    try {
      runTest({ pairs: parsePairs($("test-pairs").value) });
    } catch (error) {
      $("test-summary").className = "summary error";
      $("test-summary").textContent = error.message;
    }
  });

  const poll = async () => {
    try {
      await refreshRuns();
      if (!$("chat-examples").childElementCount) showExamples();
    } catch (error) {
      console.warn("refreshing the runs failed:", error);
    }
  };
  poll();
  setInterval(poll, RUNS_EVERY_MS);
  setInterval(() => {
    for (const run of state.runs.values()) {
      if (run.training === "training") refreshMetrics(run.name).catch((e) => console.warn(e));
    }
  }, METRICS_EVERY_MS);
}

setup();
