// Polls a job's progress and moves on to its result when it finishes (without JavaScript the
// page refreshes itself through a <noscript> meta refresh instead).
(function () {
  "use strict";
  var element = document.getElementById("job");
  if (!element || element.dataset.state !== "running") return;
  var bar = document.getElementById("job-progress");
  var status = document.getElementById("job-status");
  function poll() {
    fetch(element.dataset.jobUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        var percent = Math.round(job.progress * 100);
        bar.value = percent;
        bar.textContent = percent + "%";
        status.textContent = percent + "% – " + job.message;
        if (job.state === "running") { setTimeout(poll, 1000); return; }
        window.location.reload();
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
