// The demo site's own script: its consent banner (built here, wired to leadscore.consent)
// and friendly form submissions (the static site has nowhere to post them).
(function () {
  // The loader is async: until it runs, calls wait in the stub's queue,
  // which the loader replays (docs/widget.md).
  window.leadscore = window.leadscore || function () {
    (window.leadscore.q = window.leadscore.q || []).push(arguments);
  };
  // The consent banner, the same on every page, so written once here.
  var banner = document.createElement('div');
  banner.id = 'consent';
  banner.setAttribute('role', 'dialog');
  banner.setAttribute('aria-label', 'Consent');
  banner.innerHTML = '<strong>May we score your interest?</strong>' +
    '<p class="muted">This site estimates, in your own browser, how interested you are in Northwind, to offer ' +
    'you a demo at the right moment. Nothing is stored or sent unless you agree. No cookies.</p>' +
    '<div class="row"><button class="button" id="consent-yes">Accept</button> ' +
    '<button class="button ghost" id="consent-no">Decline</button></div>';
  document.body.appendChild(banner);
  var choice = localStorage.getItem('northwind-consent');
  function choose(granted) {
    localStorage.setItem('northwind-consent', granted ? 'yes' : 'no');
    leadscore('consent', granted);
    banner.classList.remove('open');
  }
  if (choice === 'yes') leadscore('consent', true);
  else if (choice === 'no') leadscore('consent', false);
  else banner.classList.add('open');
  document.getElementById('consent-yes').addEventListener('click', function () { choose(true) });
  document.getElementById('consent-no').addEventListener('click', function () { choose(false) });
  var settings = document.getElementById('consent-settings');
  if (settings) settings.addEventListener('click', function (event) { event.preventDefault(); banner.classList.add('open') });
  document.querySelectorAll('form[data-demo-form]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      form.classList.add('sent');
    });
  });
  document.querySelectorAll('[data-demo-toggle]').forEach(function (button) {
    button.addEventListener('click', function () { button.textContent = button.getAttribute('data-demo-toggle') });
  });
})();
