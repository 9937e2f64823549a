// A large CSV takes a while to send. The upload form is an ordinary post (it works without this script); with it, the
// form sends the file itself, shows how much has gone, then does what the post's answer says: go to the new version,
// or show the answer's problems in place of the page's content.
document.addEventListener('submit', event => {
    const form = event.target;
    const status = form instanceof HTMLFormElement && form.matches('form.upload') ? form.querySelector('.upload-status') : null;
    if (!status || !form.checkValidity()) {
        return;
    }

    event.preventDefault();
    const progress = status.querySelector('progress');
    const said = status.querySelector('span');
    const submit = form.querySelector('button[type=submit]');
    // The form can be sent again once this attempt has failed, saying why.
    const failed = message => {
        submit.disabled = false;
        said.textContent = message;
    };
    submit.disabled = true;
    status.hidden = false;

    const request = new XMLHttpRequest();
    request.open('POST', form.action || location.href);
    request.upload.onprogress = sent => {
        if (sent.lengthComputable) {
            progress.max = sent.total;
            progress.value = sent.loaded;
            said.textContent = `${Math.floor(100 * sent.loaded / sent.total)}% sent`;
        }
    };
    request.upload.onload = () => {
        progress.removeAttribute('value');
        said.textContent = 'Sent: the feature service is checking and storing it…';
    };
    request.onload = () => {
        // Stored: the post was redirected to the new version's page.
        if (new URL(request.responseURL).pathname !== location.pathname) {
            location.assign(request.responseURL);
            return;
        }

        const answered = new DOMParser().parseFromString(request.responseText, 'text/html').querySelector('main');
        if (answered) {
            document.querySelector('main').replaceWith(answered);
        } else {
            failed(`The upload failed (${request.status} ${request.statusText}).`);
        }
    };
    request.onerror = () => failed('The upload did not reach the console; check the connection and try again.');
    request.send(new FormData(form));
});
