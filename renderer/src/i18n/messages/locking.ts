// The confirmation of a remote opening, locking or office mode (components/LockingDialog.vue); its
// other words are the doors screen's.
export default {
  en: {
    waitingForHub: 'Waiting for the door’s hub to carry it out (this can take up to 20 seconds)…',
    offlineWarning: 'This door reports offline: the command may not reach it.',
  },
  nl: {
    waitingForHub: 'Wachten tot de hub van de deur het uitvoert (dit kan tot 20 seconden duren)…',
    offlineWarning: 'Deze deur meldt zich offline: de opdracht komt mogelijk niet aan.',
  },
};
