// The demo site's own script: its consent banner (wired to leadscore.consent)
// and friendly form submissions (the static site has nowhere to post them).
(function () {
  // The loader is async: until it runs, calls wait in the stub's queue,
  // which the loader replays (docs/widget.md).
  window.leadscore = window.leadscore || function () {
    (window.leadscore.q = window.leadscore.q || []).push(arguments);
  };
  var banner = document.getElementById('consent');
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
