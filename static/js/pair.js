// The pairing token travels in the URL fragment so it never reaches server logs;
// fill the form from it, forget it from the address bar, and submit, saying it came from
// a link: on a device that is already a kiosk the server then asks before re-pairing.
(function () {
  var question = document.getElementById('repair-question');
  if (question) {
    question.focus();  // read out first, before the two answers
    return;
  }
  var match = /token=([A-Za-z0-9_\-]+)/.exec(window.location.hash);
  if (!match) return;
  var form = document.getElementById('pair-form');
  document.getElementById('token').value = match[1];
  var via = document.createElement('input');
  via.type = 'hidden';
  via.name = 'via';
  via.value = 'link';
  form.appendChild(via);
  history.replaceState(null, '', window.location.pathname);
  form.submit();
})();
