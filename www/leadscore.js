/* The tag sites paste. Dense for a 1 KB gzip budget; www/README.md says why. */
!function(w,d){
var o=w.leadscore,D=Document.prototype,K=Object.create(null),q=[],P={},W,X,C,s,B,t;
if(o&&o._ls)return;
function g(n){return Object.getOwnPropertyDescriptor(D,n).get.call(d)}
function L(e){try{console.warn('leadscore: '+e)}catch(_){}}
function c(m,a,b){
if(!X&&K[m])if(W)try{return W[m](a,b)}catch(e){X=1;L('disabled: '+e)}
else if(m=='init'&&!C)C=a;else if(K[m]>26)q[q.length]=[m,a,b];
return null}
function r(k){for(var i=0;k&&i<k.length;i++)c.apply(0,k[i])}
' score stage grade explain track identify consent on forget debug init'.replace(/\w+/g,function(m,i){K[m]=i;c[m]=function(a,b){return c(m,a,b)}});
c._ls=1;w.leadscore=c;r(o&&o.q);
s=g('currentScript')||[].slice.call(D.querySelectorAll.call(d,'script[src*="leadscore.js"]')).pop();
function a(n){return s&&Element.prototype.getAttribute.call(s,'data-'+n)}
B=s&&s.src.replace(/[^\/?#]*([?#].*)?$/,'leadscore_wasm');
'site endpoint preset config'.replace(/\w+/g,function(n){if(a(n))P[n=='config'?'configUrl':n]=a(n)});
g('head').appendChild(D.createElement.call(d,'style')).textContent='[data-leadscore-show]:not([data-leadscore-shown]){display:none!important}';
function z(){import(B+'.js').then(function(m){var u=B+'_bg.wasm',I=a('integrity');
return m.default({module_or_path:I?fetch(u,{integrity:I}):u}).then(function(){
if(C)P.config=C;if(t=D.getElementById.call(d,'leadscore-config'))P.inlineConfig=t.textContent;
W=m.start(P);r(q)})}).catch(function(e){L(e);X=1})}
function y(){(w.requestIdleCallback||setTimeout)(z,{timeout:3e3})}
g('readyState')=='complete'?y():w.addEventListener('load',y)
}(window,document);
