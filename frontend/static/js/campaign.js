// campaign.js: the lead's page of one campaign (in progress).
