// Blazor handles a link to a place on the same page itself, and only scrolls there. A skip link must also move the
// keyboard's focus past the menu, so the next Tab lands in the content.
document.addEventListener('click', event => {
    if (event.target instanceof Element && event.target.closest('a.skip')) {
        document.getElementById('main')?.focus();
    }
});
