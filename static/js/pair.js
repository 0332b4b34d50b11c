// The pairing token travels in the URL fragment so it never reaches server logs;
// fill the form from it, forget it from the address bar, and submit.
(function () {
  var match = /token=([A-Za-z0-9_\-]+)/.exec(window.location.hash);
  if (!match) return;
  document.getElementById('token').value = match[1];
  history.replaceState(null, '', window.location.pathname);
  document.getElementById('pair-form').submit();
})();
