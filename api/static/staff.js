/* The staff page: sign in (the token stays in this tab's sessionStorage), the wards' reports
   with their workflow, publication, assignment, links and history, and the ward's plan runs. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("gomrac-config").textContent);
  var words = config.words;
  var steps = config.steps;
  var TOKEN_KEY = "gomrac.staff.token";
  var PAGE_SIZE = 20;
  var POLL_MS = 2000;
  var STEP_ROLES = ["ward_office", "waste_company", "admin"];
  var MODERATOR_ROLES = ["ward_office", "admin"];
  var TRIAGE_ROLES = ["ward_office", "admin"];
  var PLANNER_ROLES = ["ward_office", "waste_company", "admin"];
  var state = {
    ready: false,
    account: null,
    page: 1,
    reports: [],
    report: null,
    plans: [],
    planDetails: {},
    pollTimer: null,
    opener: null
  };
  window.gomracStaff = state;

  function $(id) { return document.getElementById(id); }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function can(roles) { return !!state.account && roles.indexOf(state.account.role) >= 0; }
  function token() {
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function setToken(value) {
    try {
      if (value) { window.sessionStorage.setItem(TOKEN_KEY, value); } else { window.sessionStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage refused: the page still works until it is reloaded */ }
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function when(text) {
    // any ISO time, written in Hai Phong time (UTC+7) as 25/11/2026 09:30
    if (!text) { return ""; }
    var ms = Date.parse(text);
    if (isNaN(ms)) { return String(text); }
    var d = new Date(ms + 7 * 3600 * 1000);
    return pad(d.getUTCDate()) + "/" + pad(d.getUTCMonth() + 1) + "/" + d.getUTCFullYear() +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function wardName(code) {
    if (!code) { return ""; }
    var name = config.ward_names[code];
    return name ? name + " (" + code + ")" : code;
  }

  // --- messages -------------------------------------------------------------------------------
  var messageEl = $("staff-message");
  function say(text, kind) {
    messageEl.textContent = text;
    messageEl.className = "staff-message " + (kind || "error");
    messageEl.setAttribute("role", kind === "ok" ? "status" : "alert");
    messageEl.hidden = !text;
  }
  function errorText(status, detail) {
    detail = typeof detail === "string" ? detail : "";
    if (status === 401) { return words.err_expired; }
    if (status === 403) { return words.err_forbidden; }
    if (status === 404) { return words.err_not_found; }
    if (status === 429) { return words.err_locked; }
    if (status === 400 || status === 422) {
      if (/duplicate_of is required/.test(detail)) { return words.err_duplicate_needed; }
      if (/duplicate of itself/.test(detail)) { return words.err_duplicate_self; }
      if (/is not in the register/.test(detail)) { return words.err_not_in_register; }
      if (/of the report's ward/.test(detail)) { return words.err_other_ward; }
      if (/nothing to cancel/.test(detail)) { return words.err_cannot_cancel; }
      return words.err_invalid;
    }
    return words.err_server;
  }

  // --- the API --------------------------------------------------------------------------------
  function ApiError(status, detail) { this.status = status; this.detail = detail; }
  function api(method, url, body) {
    var headers = { "Accept": "application/json" };
    var t = token();
    if (t) { headers.Authorization = "Bearer " + t; }
    var options = { method: method, headers: headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var read = type.indexOf("application/json") >= 0 ? response.json() : Promise.resolve(null);
      return read.catch(function () { return null; }).then(function (data) {
        if (response.ok) { return data; }
        var detail = data && typeof data.detail === "string" ? data.detail : "";
        if (response.status === 401) { signedOut(words.err_expired); }
        throw new ApiError(response.status, detail);
      });
    }, function () { throw new ApiError(0, ""); });
  }
  function failed(error) {
    if (!(error instanceof ApiError)) { throw error; }
    if (error.status !== 401) { say(errorText(error.status, error.detail)); }
  }

  // --- sign-in --------------------------------------------------------------------------------
  var signInSection = $("sign-in");
  var signedInSection = $("signed-in");
  var signInError = $("sign-in-error");
  function showSignIn() {
    stopPolling();
    state.account = null;
    signedInSection.hidden = true;
    signInSection.hidden = false;
    $("username").focus();
  }
  function signedOut(message) {
    setToken(null);
    showSignIn();
    signInError.textContent = message || "";
    signInError.hidden = !message;
    say("");
  }
  $("sign-in-form").addEventListener("submit", function (event) {
    event.preventDefault();
    signInError.hidden = true;
    var button = $("sign-in-button");
    button.disabled = true;
    var form = new URLSearchParams();
    form.set("username", $("username").value.trim());
    form.set("password", $("password").value);
    fetch("/api/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: form.toString(),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok || !data || !data.access_token) {
          var text = response.status === 401 ? words.err_sign_in : errorText(response.status, data && data.detail);
          throw new ApiError(response.status, text);
        }
        setToken(data.access_token);
        $("password").value = "";
        return start();
      });
    }, function () { throw new ApiError(0, words.err_server); }).catch(function (error) {
      if (!(error instanceof ApiError)) { throw error; }
      signInError.textContent = error.detail || (error.status === 401 ? words.err_expired : errorText(error.status, ""));
      signInError.hidden = false;
      $("password").focus();
    }).then(function () { button.disabled = false; });
  });
  $("sign-out").addEventListener("click", function () {
    var done = function () { signedOut(""); };
    api("POST", "/api/auth/sign-out").then(done, done);
  });

  function showAccount(me) {
    state.account = me;
    state.page = 1;
    state.planDetails = {};
    detail.hidden = true;
    $("account-name").textContent = me.full_name ? me.full_name + " (" + me.username + ")" : me.username;
    $("account-role").textContent = words["role_" + me.role] || me.role;
    $("account-wards").textContent = me.ward_codes.length
      ? me.ward_codes.map(wardName).join(", ")
      : words.all_wards;
    signInSection.hidden = true;
    signedInSection.hidden = false;
  }
  function start() {
    return api("GET", "/api/auth/me").then(function (me) {
      showAccount(me);
      setUpPlanWard();
      return Promise.all([loadReports(), loadPlans()]);
    });
  }

  // --- reports --------------------------------------------------------------------------------
  var reportBody = document.querySelector("#report-table tbody");
  function pubWord(p) { return words["pub_" + p] || p; }
  function place(r) {
    var ward = r.extended_attributes ? wardName(r.extended_attributes.ward_code) : "";
    return [r.address, ward].filter(function (x) { return x; }).join(" · ");
  }
  function loadReports() {
    var url = "/api/reports?page=" + state.page + "&page_size=" + (PAGE_SIZE + 1);
    return api("GET", url).then(function (rows) {
      var more = rows.length > PAGE_SIZE;
      state.reports = rows.slice(0, PAGE_SIZE);
      reportBody.innerHTML = state.reports.map(function (r) {
        var x = r.extended_attributes;
        return '<tr id="report-' + esc(r.service_request_id) + '" data-step="' + esc(x.workflow_status) + '">' +
          '<td class="num" data-label="' + esc(words.col_number) + '">' + esc(r.service_request_id) + "</td>" +
          '<td data-label="' + esc(words.col_service) + '">' + esc(r.service_name) + "</td>" +
          '<td data-label="' + esc(words.col_date) + '">' + esc(when(r.requested_datetime)) + "</td>" +
          '<td data-label="' + esc(words.col_place) + '">' + esc(place(r)) + "</td>" +
          '<td class="step" data-label="' + esc(words.col_step) + '">' + esc(steps[x.workflow_status] || x.workflow_status) + "</td>" +
          '<td class="publication" data-label="' + esc(words.col_publication) + '">' + esc(pubWord(x.publication)) + "</td>" +
          '<td class="action"><button type="button" class="open-report" data-id="' + esc(r.service_request_id) + '" aria-label="' +
          esc(words.open + " " + words.report + " " + r.service_request_id) + '">' + esc(words.open) + "</button></td>" +
          "</tr>";
      }).join("");
      $("no-reports").hidden = state.reports.length > 0;
      $("page-label").textContent = words.page + " " + state.page;
      $("page-prev").disabled = state.page <= 1;
      $("page-next").disabled = !more;
      state.reportsLoaded = (state.reportsLoaded || 0) + 1;
    }).catch(failed);
  }
  reportBody.addEventListener("click", function (event) {
    var button = event.target.closest("button.open-report");
    if (button) { state.opener = button.dataset.id; openReport(button.dataset.id); }
  });
  $("page-prev").addEventListener("click", function () { if (state.page > 1) { state.page -= 1; loadReports(); } });
  $("page-next").addEventListener("click", function () { state.page += 1; loadReports(); });
  $("reports-reload").addEventListener("click", function () { say(""); loadReports(); });

  // --- one report -----------------------------------------------------------------------------
  var detail = $("report-detail");
  function fact(label, value, id) {
    if (value === null || value === undefined || value === "") { return ""; }
    return "<dt>" + esc(label) + "</dt><dd" + (id ? ' id="' + id + '"' : "") + ">" + esc(value) + "</dd>";
  }
  function renderReport(r) {
    state.report = r;
    var x = r.extended_attributes;
    $("detail-number").textContent = r.service_request_id;
    var reporter = [[r.first_name, r.last_name].filter(Boolean).join(" "), r.phone, r.email]
      .filter(function (v) { return v; }).join(" · ");
    $("detail-facts").innerHTML =
      fact(words.col_service, r.service_name) +
      fact(words.col_step, steps[x.workflow_status] || x.workflow_status, "detail-step") +
      fact(words.field_duplicate_of, x.duplicate_of) +
      fact(words.col_publication, pubWord(x.publication), "detail-publication") +
      fact(words.col_date, when(r.requested_datetime)) +
      fact(words.col_place, place(r)) +
      fact(words.description, r.description) +
      fact(words.reporter, reporter) +
      fact(words.field_assigned_unit, r.assigned_unit ? words["unit_" + r.assigned_unit] : "", "detail-unit") +
      fact(words.agency, r.agency_responsible, "detail-agency") +
      fact(words.field_dump_site_id, r.dump_site_id, "detail-dump-site") +
      fact(words.field_camera_id, r.camera_id, "detail-camera");

    $("status-form").hidden = !can(STEP_ROLES);
    var select = $("status-select");
    select.innerHTML = Object.keys(steps).map(function (s) {
      return '<option value="' + esc(s) + '"' + (s === x.workflow_status ? " selected" : "") + ">" + esc(steps[s]) + "</option>";
    }).join("");
    $("duplicate-of").value = x.duplicate_of || "";
    $("status-note").value = "";
    showDuplicateField();

    $("publication-form").hidden = !can(MODERATOR_ROLES);
    $("publication-select").value = x.publication;

    $("links-form").hidden = !can(TRIAGE_ROLES);
    $("unit-select").value = r.assigned_unit || "";
    $("agency-name").value = "";
    $("agency-name").placeholder = r.agency_responsible || "";
    $("dump-site-id").value = r.dump_site_id || "";
    $("camera-id").value = r.camera_id || "";
    $("links-note").value = "";
    detail.hidden = false;
  }
  function historyValue(field, value) {
    if (value === null || value === undefined) { return ""; }
    if (field === "workflow_status") { return steps[value] || value; }
    if (field === "publication") { return pubWord(value); }
    if (field === "assigned_unit") { return words["unit_" + value] || value; }
    return value;
  }
  function loadHistory(id) {
    return api("GET", "/api/reports/" + encodeURIComponent(id) + "/history").then(function (h) {
      document.querySelector("#history-table tbody").innerHTML = h.data.map(function (row) {
        return '<tr data-field="' + esc(row.field) + '"><td>' + esc(when(row.at)) + "</td><td>" + esc(words["actor_" + row.actor] || row.actor) + "</td>" +
          "<td>" + esc(words["field_" + row.field] || row.field) + "</td>" +
          "<td>" + esc(historyValue(row.field, row.old)) + "</td>" +
          '<td class="new">' + esc(historyValue(row.field, row.new)) + "</td>" +
          '<td class="note">' + esc(row.note || "") + "</td></tr>";
      }).join("");
      state.historyLoaded = (state.historyLoaded || 0) + 1;
    });
  }
  function openReport(id) {
    say("");
    return api("GET", "/api/reports/" + encodeURIComponent(id)).then(function (r) {
      renderReport(r);
      $("detail-heading").focus();
      return loadHistory(id);
    }).catch(failed);
  }
  function closeReport() {
    detail.hidden = true;
    state.report = null;
    var back = state.opener && document.querySelector('button.open-report[data-id="' + state.opener + '"]');
    if (back) { back.focus(); }
  }
  $("detail-close").addEventListener("click", closeReport);
  detail.addEventListener("keydown", function (event) { if (event.key === "Escape") { closeReport(); } });

  function showDuplicateField() {
    var dup = $("status-select").value === "duplicate";
    $("duplicate-field").hidden = !dup;
    $("duplicate-of").required = dup;
  }
  $("status-select").addEventListener("change", showDuplicateField);

  function number(text) {
    text = String(text || "").trim().replace(/^#/, "");
    return /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  }
  function saved(r) {
    renderReport(r);
    say(words.saved, "ok");
    return Promise.all([loadHistory(r.service_request_id), loadReports()]);
  }
  function change(url, body) {
    if (!state.report) { return; }
    api("PATCH", "/api/reports/" + encodeURIComponent(state.report.service_request_id) + url, body)
      .then(saved).catch(failed);
  }
  $("status-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { workflow_status: $("status-select").value };
    var note = $("status-note").value.trim();
    if (note) { body.note = note; }
    if (body.workflow_status === "duplicate") {
      var original = number($("duplicate-of").value);
      if (isNaN(original)) { say(words.err_duplicate_needed); $("duplicate-of").focus(); return; }
      body.duplicate_of = original;
    }
    change("", body);
  });
  $("publication-form").addEventListener("submit", function (event) {
    event.preventDefault();
    change("/publication", { publication: $("publication-select").value });
  });
  $("links-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var r = state.report;
    if (!r) { return; }
    var body = {};
    var unit = $("unit-select").value || null;
    var agency = $("agency-name").value.trim();
    if (unit !== (r.assigned_unit || null) || agency) { body.assigned_unit = unit; }
    if (agency) { body.agency_responsible = agency; }
    var fields = [["dump_site_id", "dump-site-id"], ["camera_id", "camera-id"]];
    for (var i = 0; i < fields.length; i += 1) {
      var text = $(fields[i][1]).value.trim();
      var value = text === "" ? null : number(text);
      if (value !== null && isNaN(value)) { say(words.err_invalid); $(fields[i][1]).focus(); return; }
      if (value !== (r[fields[i][0]] || null)) { body[fields[i][0]] = value; }
    }
    var note = $("links-note").value.trim();
    if (!Object.keys(body).length) { say(words.saved, "ok"); return; }
    if (note) { body.note = note; }
    change("/links", body);
  });

  // --- plans ----------------------------------------------------------------------------------
  var planBody = document.querySelector("#plan-table tbody");
  function setUpPlanWard() {
    var codes = state.account.ward_codes;
    var select = $("plan-ward");
    var admin = !codes.length;
    $("plan-ward-field").hidden = admin;
    $("plan-code-field").hidden = !admin;
    select.innerHTML = codes.map(function (c) {
      return '<option value="' + esc(c) + '">' + esc(wardName(c)) + "</option>";
    }).join("");
    if (config.ward && (admin || codes.indexOf(config.ward) >= 0)) {
      select.value = config.ward;
      $("plan-code").value = config.ward;
    }
    $("plan-queue").hidden = !can(PLANNER_ROLES);
    $("plan-sample-field").hidden = !can(PLANNER_ROLES);
  }
  function planWard() {
    var code = state.account && !state.account.ward_codes.length ? $("plan-code").value.trim() : $("plan-ward").value;
    return /^[0-9]{5}$/.test(code) ? code : null;
  }
  function stopPolling() {
    if (state.pollTimer) { window.clearTimeout(state.pollTimer); state.pollTimer = null; }
  }
  function planLabels(plan) {
    var d = state.planDetails[plan.id];
    if (!d || !d.summary) { return ""; }
    var parts = [];
    if (d.summary.hanoi_sample) { parts.push('<span class="label-sample">' + esc(words.sample) + "</span>"); }
    var synthetic = d.summary.synthetic_layers || [];
    if (synthetic.length) {
      parts.push('<span class="label-synthetic">' + esc(words.synthetic) + ": " +
        esc(synthetic.map(function (n) { return config.synthetic_names[n] || n; }).join(", ")) + "</span>");
    }
    return parts.join(" ");
  }
  function filesCell(plan) {
    var d = state.planDetails[plan.id];
    if (plan.status !== "done") { return ""; }
    if (!d) { return '<button type="button" class="show-files" data-id="' + plan.id + '">' + esc(words.show_files) + "</button>"; }
    if (!d.files || !d.files.length) { return esc(words.no_files); }
    return '<ul class="plan-files">' + d.files.map(function (f) {
      return '<li><button type="button" class="download linkish" data-url="' + esc(f.url) + '" data-name="' + esc(f.path) + '">' +
        esc(f.path) + "</button> <small>" + esc(Math.max(1, Math.round(f.bytes / 1024))) + " kB</small></li>";
    }).join("") + "</ul>";
  }
  function renderPlans() {
    planBody.innerHTML = state.plans.map(function (p) {
      var pct = Math.round(100 * p.progress);
      var active = p.status === "queued" || p.status === "running";
      return '<tr id="plan-' + p.id + '" class="' + esc(p.status) + '" data-status="' + esc(p.status) + '">' +
        '<td class="num" data-label="' + esc(words.col_number) + '">' + p.id + "</td>" +
        '<td class="status" data-label="' + esc(words.col_status) + '">' + esc(words["plan_status_" + p.status] || p.status) +
        (p.cancel_requested && p.status === "running" ? "<br><small>" + esc(words.cancelling) + "</small>" : "") +
        (active && can(PLANNER_ROLES) ? ' <button type="button" class="cancel-plan" data-id="' + p.id + '">' + esc(words.cancel) + "</button>" : "") +
        "</td>" +
        '<td class="num" data-label="' + esc(words.col_progress) + '"><progress max="100" value="' + pct + '">' + pct + "%</progress> " + pct + "%</td>" +
        '<td data-label="' + esc(words.col_stage) + '">' + esc(words["stage_" + (p.stage || "")] || p.stage || "") + "</td>" +
        '<td data-label="' + esc(words.col_started) + '">' + esc(when(p.created_at)) + "</td>" +
        '<td data-label="' + esc(words.col_finished) + '">' + esc(when(p.finished_at)) + "</td>" +
        '<td data-label="' + esc(words.col_by) + '">' + esc(p.created_by || "") + "</td>" +
        '<td class="notes" data-label="' + esc(words.col_files) + '">' + filesCell(p) + " " + planLabels(p) + (p.error ? " " + esc(words.plan_failed) + ' <details class="tech"><summary>' + esc(words.technical) +
          "</summary>" + esc(p.error) + "</details>" : "") + "</td>" +
        "</tr>";
    }).join("");
    $("no-plans").hidden = state.plans.length > 0;
  }
  function loadPlans() {
    stopPolling();
    var code = planWard();
    if (!code || !state.account) { state.plans = []; renderPlans(); return Promise.resolve(); }
    return api("GET", "/wards/" + code + "/plans").then(function (h) {
      state.plans = h.data;
      var details = h.data.slice(0, 10).filter(function (p) { return p.status === "done" && !state.planDetails[p.id]; });
      return Promise.all(details.map(function (p) {
        return api("GET", "/plans/" + p.id).then(function (d) { state.planDetails[p.id] = d; });
      }));
    }).then(function () {
      renderPlans();
      state.plansLoaded = (state.plansLoaded || 0) + 1;
      var active = state.plans.some(function (p) { return p.status === "queued" || p.status === "running"; });
      if (active && state.account) { state.pollTimer = window.setTimeout(loadPlans, POLL_MS); }
    }).catch(failed);
  }
  $("plan-ward").addEventListener("change", function () { loadPlans(); });
  $("plan-code").addEventListener("change", function () { loadPlans(); });
  $("plan-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = planWard();
    if (!code) { say(words.err_invalid); return; }
    api("POST", "/wards/" + code + "/plans", { sample_if_missing: $("plan-sample").checked }).then(function (p) {
      say(words.plan_queued + " " + p.id + ".", "ok");
      return loadPlans();
    }).catch(failed);
  });
  planBody.addEventListener("click", function (event) {
    var cancel = event.target.closest("button.cancel-plan");
    if (cancel) {
      api("POST", "/plans/" + cancel.dataset.id + "/cancel").then(loadPlans).catch(failed);
      return;
    }
    var show = event.target.closest("button.show-files");
    if (show) {
      api("GET", "/plans/" + show.dataset.id).then(function (d) {
        state.planDetails[d.id] = d;
        renderPlans();
      }).catch(failed);
      return;
    }
    var download = event.target.closest("button.download");
    if (download) {
      // a file needs the token, which a plain link cannot send: fetch it and save the copy
      var headers = { "Authorization": "Bearer " + token() };
      fetch(download.dataset.url, { headers: headers, credentials: "omit" }).then(function (response) {
        if (!response.ok) {
          if (response.status === 401) { signedOut(words.err_expired); }
          throw new ApiError(response.status, "");
        }
        return response.blob();
      }, function () { throw new ApiError(0, ""); }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = document.createElement("a");
        a.href = url;
        a.download = download.dataset.name.split("/").pop();
        document.body.appendChild(a);
        a.click();
        a.remove();
        window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      }).catch(failed);
    }
  });

  // --- start ----------------------------------------------------------------------------------
  var begun = token() ? start().catch(function (error) {
    if (!(error instanceof ApiError)) { throw error; }
    if (error.status !== 401) { signedOut(errorText(error.status, error.detail)); }
  }) : Promise.resolve(showSignIn());
  begun.then(function () {
    state.ready = true;
    document.body.dataset.ready = "1";
  });
})();
